{% macro audience_rule__second_purchase_nurture(as_of_at) %}
{#- Second-purchase nurture: from nurture_days_min until nurture_days_max days after a
    first paid order, unless a second order comes first. Suggests the complementary
    product (int_product_affinity) of the first order's biggest line, if not bought. -#}
with

orders as (

    select
        person_id,
        order_id,
        ordered_at,
        row_number() over (partition by person_id order by ordered_at, order_id)
            as order_number,
        lead(ordered_at) over (partition by person_id order by ordered_at, order_id)
            as next_ordered_at
    from {{ ref('fct_orders') }}
    where is_paid
        and ordered_at < {{ as_of_at }}

),

first_orders as (

    select
        person_id,
        order_id,
        ordered_at,
        next_ordered_at,
        {{ dbt.dateadd('day', var('nurture_days_min'), 'ordered_at') }} as entered_at,
        {{ dbt.dateadd('day', var('nurture_days_max') + 1, 'ordered_at') }} as window_end_at
    from orders
    where order_number = 1

),

first_lines as (

    select
        first_orders.person_id,
        order_items.product_id,
        order_items.category,
        row_number() over (
            partition by first_orders.person_id
            order by order_items.line_amount desc, order_items.product_id
        ) as line_rank
    from first_orders
    inner join {{ ref('fct_order_items') }} as order_items
        on first_orders.order_id = order_items.order_id

),

bought as (

    select distinct
        person_id,
        product_id
    from first_lines

),

suggestions as (

    select
        first_lines.person_id,
        first_lines.category,
        case
            when bought.person_id is null then affinity.complementary_product_id
        end as complementary_product_id
    from first_lines
    left join {{ ref('int_product_affinity') }} as affinity
        on first_lines.product_id = affinity.product_id
    left join bought
        on first_lines.person_id = bought.person_id
        and affinity.complementary_product_id = bought.product_id
    where first_lines.line_rank = 1

),

entries as (

    select
        first_orders.*,
        {{ earlier_of('first_orders.next_ordered_at', 'first_orders.window_end_at') }}
            as exited_at
    from first_orders

)

select
    {{ audience_select('second_purchase_nurture', {
        'person_id': 'entries.person_id',
        'entered_at': 'entries.entered_at',
        'exited_at': 'entries.exited_at',
        'entry_reason': "'single_first_order'",
        'reference_at': 'entries.ordered_at',
        'category': 'suggestions.category',
        'product_id': 'suggestions.complementary_product_id',
        'product_name': 'products.product_name',
    }) }}
from entries
left join suggestions
    on entries.person_id = suggestions.person_id
left join {{ ref('stg_shop__products') }} as products
    on suggestions.complementary_product_id = products.product_id
where entries.entered_at < entries.exited_at
{% endmacro %}
