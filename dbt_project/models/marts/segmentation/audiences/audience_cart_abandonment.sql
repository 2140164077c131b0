-- Cart abandoners: identified persons whose last add-to-cart is at least the first step
-- (cart_step_hours[0]) old, at most cart_max_hours old, and not followed by a paid order.
-- The reminder step (1, 2, 3 for 1h / 24h / 72h by default) and the cart value (products
-- added in the 24 hours up to the last add) with its tier let flows differ by value.
{%- set steps = var('cart_step_hours') %}

with

cart_events as (

    select * from {{ ref('int_person_cart_events') }}
    where event_type = 'add_to_cart'

),

orders as (

    select * from {{ ref('int_paid_orders_as_of') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

last_carts as (

    select
        cart_events.person_id,
        max(cart_events.occurred_at) as last_added_at
    from cart_events
    cross join as_of
    where cart_events.occurred_at < as_of.as_of_at
    group by cart_events.person_id

),

abandoned as (

    select
        last_carts.*,
        {{ days_between('last_carts.last_added_at', 'as_of.as_of_at') }} * 24 as hours_since_cart
    from last_carts
    cross join as_of
    where not exists (
            select 1
            from orders
            where orders.person_id = last_carts.person_id
                and orders.ordered_at >= last_carts.last_added_at
        )

),

cart_lines as (

    -- distinct products added in the 24 hours up to the last add
    select distinct
        abandoned.person_id,
        cart_events.product_id,
        cart_events.price
    from abandoned
    inner join cart_events
        on abandoned.person_id = cart_events.person_id
        and abandoned.last_added_at >= cart_events.occurred_at
        and {{ dbt.dateadd('hour', -24, 'abandoned.last_added_at') }}
        < cart_events.occurred_at

),

cart_contents as (

    select
        person_id,
        sum(price) as cart_value,
        count(*) as cart_products,
        min(product_id) as first_product_id
    from cart_lines
    group by person_id

),

final as (

    select
        abandoned.person_id,
        'cart_abandonment' as audience,
        {{ dbt.dateadd('hour', steps[0], 'abandoned.last_added_at') }} as entered_at,
        'step_' || cast(
            case
                {%- for hours in steps | reverse %}
                    when
                        abandoned.hours_since_cart >= {{ hours }}
                        then {{ steps | length - loop.index0 }}
                {%- endfor %}
            end as {{ dbt.type_string() }}
        ) as entry_reason,
        cast(
            case
                {%- for hours in steps | reverse %}
                    when
                        abandoned.hours_since_cart >= {{ hours }}
                        then {{ steps | length - loop.index0 }}
                {%- endfor %}
            end as {{ dbt.type_int() }}
        ) as cart_step,
        abandoned.last_added_at,
        cast(abandoned.hours_since_cart as {{ type_double() }}) as hours_since_cart,
        cast(cart_contents.cart_value as {{ dbt.type_numeric() }}) as cart_value,
        case
            when cart_contents.cart_value >= {{ var('cart_high_value') }} then 'high'
            else 'standard'
        end as cart_value_tier,
        cast(cart_contents.cart_products as {{ dbt.type_int() }}) as cart_products,
        cart_contents.first_product_id as cart_product_id
    from abandoned
    left join cart_contents
        on abandoned.person_id = cart_contents.person_id
    where abandoned.hours_since_cart >= {{ steps[0] }}
        and abandoned.hours_since_cart < {{ var('cart_max_hours') }}

)

select * from final
