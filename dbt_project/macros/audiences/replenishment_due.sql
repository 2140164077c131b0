{% macro audience_rule__replenishment_due(as_of_at) %}
{#- Replenishment due: each purchase of a product with a replenishment cycle
    (int_product_replenishment_cycles: the catalog's, else observed) runs out on purchase
    date + cycle x quantity; the person is due from replenishment_days_before_max until
    replenishment_days_before_min days before that date, unless they buy the product
    again first. -#}
with

cycles as (

    -- each product's consumption cycle in days (the one place it is read): the catalog's,
    -- else observed in the shop's own repeat purchases
    select
        product_id,
        replenishment_days
    from {{ ref('int_product_replenishment_cycles') }}

),

purchases as (

    select
        order_items.person_id,
        order_items.product_id,
        order_items.ordered_at,
        order_items.quantity,
        cast({{ dbt.dateadd('day', 'cycles.replenishment_days * order_items.quantity',
            'order_items.ordered_at') }} as date) as expected_run_out_date,
        lead(order_items.ordered_at) over (
            partition by order_items.person_id, order_items.product_id
            order by order_items.ordered_at, order_items.order_id
        ) as next_purchased_at
    from {{ ref('fct_order_items') }} as order_items
    inner join cycles
        on order_items.product_id = cycles.product_id
    where order_items.is_paid
        and cycles.replenishment_days > 0
        and order_items.ordered_at < {{ as_of_at }}

),

windows as (

    select
        purchases.*,
        cast({{ dbt.dateadd('day', -var('replenishment_days_before_max'),
            'purchases.expected_run_out_date') }} as {{ type_timestamptz() }}) as entered_at,
        cast({{ dbt.dateadd('day', 1 - var('replenishment_days_before_min'),
            'purchases.expected_run_out_date') }} as {{ type_timestamptz() }}) as window_end_at
    from purchases

),

entries as (

    select
        windows.*,
        {{ earlier_of('windows.next_purchased_at', 'windows.window_end_at') }} as exited_at
    from windows
    where windows.entered_at > windows.ordered_at

)

select
    {{ audience_select('replenishment_due', {
        'person_id': 'entries.person_id',
        'entered_at': 'entries.entered_at',
        'exited_at': 'entries.exited_at',
        'entry_reason': "'runs_out_on_' || cast(entries.expected_run_out_date as "
            ~ dbt.type_string() ~ ")",
        'reference_at': 'entries.ordered_at',
        'category': 'products.category',
        'product_id': 'entries.product_id',
        'product_name': 'products.product_name',
        'expected_run_out_date': 'entries.expected_run_out_date',
    }) }}
from entries
left join {{ ref('stg_shop__products') }} as products
    on entries.product_id = products.product_id
where entries.entered_at < entries.exited_at
{% endmacro %}
