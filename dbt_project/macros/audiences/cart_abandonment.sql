{% macro audience_rule__cart_abandonment(as_of_at) %}
{#- Cart abandonment: an add-to-cart followed by nothing (no other add, no paid order) for
    cart_step_hours[0] hours. One row per reminder step: step n holds from the add +
    cart_step_hours[n-1] until the next step, the next add or order, or cart_max_hours.
    The cart: distinct products added in the 24 hours up to the add, with its value and
    tier (cart_high_value). -#}
{%- set steps = var('cart_step_hours') %}
with

carts as (

    select
        person_id,
        product_id,
        price,
        occurred_at
    from {{ ref('int_person_cart_events') }}
    where event_type = 'add_to_cart'
        and occurred_at < {{ as_of_at }}

),

timeline as (

    select
        person_id,
        occurred_at as happened_at,
        1 as is_cart
    from carts
    union all
    select
        person_id,
        ordered_at as happened_at,
        0 as is_cart
    from {{ ref('int_person_paid_orders') }}
    where ordered_at < {{ as_of_at }}

),

sequenced as (

    select
        person_id,
        happened_at,
        is_cart,
        lead(happened_at) over (
            partition by person_id order by happened_at, is_cart
        ) as next_happened_at
    from timeline

),

abandoned as (

    select distinct
        person_id,
        happened_at as added_at,
        next_happened_at
    from sequenced
    where is_cart = 1
        and (
            next_happened_at is null
            or next_happened_at > {{ dbt.dateadd('hour', steps[0], 'happened_at') }}
        )

),

cart_lines as (

    select distinct
        abandoned.person_id,
        abandoned.added_at,
        carts.product_id,
        carts.price
    from abandoned
    inner join carts
        on abandoned.person_id = carts.person_id
        and abandoned.added_at >= carts.occurred_at
        and {{ dbt.dateadd('hour', -24, 'abandoned.added_at') }} < carts.occurred_at

),

contents as (

    select
        person_id,
        added_at,
        sum(price) as cart_value,
        min(product_id) as first_product_id
    from cart_lines
    group by person_id, added_at

),

steps as (
    {%- for hours in steps %}
    {%- set step_end = steps[loop.index] if not loop.last else var('cart_max_hours') %}

    select
        person_id,
        added_at,
        {{ loop.index }} as step,
        {{ dbt.dateadd('hour', hours, 'added_at') }} as step_at,
        {{ earlier_of('next_happened_at', dbt.dateadd('hour', step_end, 'added_at')) }}
            as exited_at
    from abandoned
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

)

select
    {{ audience_select('cart_abandonment', {
        'person_id': 'steps.person_id',
        'step': 'steps.step',
        'entered_at': dbt.dateadd('hour', steps[0], 'steps.added_at'),
        'step_at': 'steps.step_at',
        'exited_at': 'steps.exited_at',
        'entry_reason': "'step_' || cast(steps.step as " ~ dbt.type_string() ~ ")",
        'reference_at': 'steps.added_at',
        'product_id': 'contents.first_product_id',
        'cart_value': 'contents.cart_value',
        'cart_value_tier': "case when contents.cart_value >= " ~ var('cart_high_value')
            ~ " then 'high' else 'standard' end",
    }) }}
from steps
left join contents
    on steps.person_id = contents.person_id
    and steps.added_at = contents.added_at
where steps.step_at < steps.exited_at
{% endmacro %}
