{% macro audience_rule__browse_abandonment(as_of_at) %}
{#- Browse abandonment: an identified person viewed an in-stock product and then did nothing
    more - no other view, no add-to-cart, no paid order - for browse_wait_hours. One
    reminder of the product viewed last, from then until the person's next view, add or
    order, or browse_max_hours after the view. Not for recent buyers (a paid order in the
    browse_recent_order_days before the view: a customer clicking through to track a parcel
    is not browsing). A view followed by an add-to-cart is the cart flow's; re-entries are
    limited by the contact policy (frequency cap, cooldown, same-product block). -#}
{%- set wait_hours = var('browse_wait_hours') %}
with

timeline as (

    select
        person_id,
        occurred_at as happened_at,
        product_id,
        case when event_type = 'view_item' then 0 else 1 end as kind_order,
        event_type = 'view_item' and is_in_stock as is_view
    from {{ ref('int_person_cart_events') }}
    where occurred_at < {{ as_of_at }}
    union all
    select
        person_id,
        ordered_at as happened_at,
        cast(null as {{ dbt.type_string() }}) as product_id,
        2 as kind_order,
        false as is_view
    from {{ ref('int_person_paid_orders') }}
    where ordered_at < {{ as_of_at }}

),

sequenced as (

    select
        person_id,
        happened_at,
        product_id,
        is_view,
        lead(happened_at) over (
            partition by person_id order by happened_at, kind_order
        ) as next_happened_at,
        max(case when kind_order = 2 then happened_at end) over (
            partition by person_id order by happened_at, kind_order
            rows between unbounded preceding and current row
        ) as last_order_at
    from timeline

),

abandoned as (

    select
        person_id,
        happened_at as viewed_at,
        product_id,
        next_happened_at
    from sequenced
    where is_view
        and (
            next_happened_at is null
            or next_happened_at > {{ dbt.dateadd('hour', wait_hours, 'happened_at') }}
        )
        and (
            last_order_at is null
            or last_order_at
            <= {{ dbt.dateadd('day', -var('browse_recent_order_days'), 'happened_at') }}
        )

)

select
    {{ audience_select('browse_abandonment', {
        'person_id': 'abandoned.person_id',
        'entered_at': dbt.dateadd('hour', wait_hours, 'abandoned.viewed_at'),
        'exited_at': earlier_of('abandoned.next_happened_at',
            dbt.dateadd('hour', var('browse_max_hours'), 'abandoned.viewed_at')),
        'entry_reason': "'viewed_product'",
        'reference_at': 'abandoned.viewed_at',
        'category': 'products.category',
        'product_id': 'abandoned.product_id',
        'product_name': 'products.product_name',
    }) }}
from abandoned
left join {{ ref('stg_shop__products') }} as products
    on abandoned.product_id = products.product_id
{% endmacro %}
