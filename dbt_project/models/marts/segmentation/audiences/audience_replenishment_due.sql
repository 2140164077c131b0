-- Replenishment due: the latest purchase of a product with a replenishment cycle runs out
-- (purchase date + cycle x quantity) in replenishment_days_before_min..max days. The cycle
-- is the catalog's or one observed in the shop's orders (int_product_replenishment_cycles).
-- One row per person: the product that runs out first.

with

order_items as (

    select * from {{ ref('fct_order_items') }}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

cycles as (

    select * from {{ ref('int_product_replenishment_cycles') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

latest_purchases as (

    select
        order_items.person_id,
        order_items.product_id,
        order_items.ordered_at,
        order_items.quantity,
        cycles.replenishment_days,
        row_number() over (
            partition by order_items.person_id, order_items.product_id
            order by order_items.ordered_at desc, order_items.order_id desc
        ) as purchase_rank
    from order_items
    inner join cycles
        on order_items.product_id = cycles.product_id
    cross join as_of
    where order_items.is_paid
        and order_items.ordered_at < as_of.as_of_at

),

run_outs as (

    select
        latest_purchases.*,
        cast({{ dbt.dateadd(
            'day', 'latest_purchases.replenishment_days * latest_purchases.quantity',
            'latest_purchases.ordered_at') }} as date) as expected_run_out_date
    from latest_purchases
    where latest_purchases.purchase_rank = 1

),

due as (

    select
        run_outs.*,
        {{ dbt.datediff('as_of.as_of_date', 'run_outs.expected_run_out_date', 'day') }}
            as days_to_run_out,
        row_number() over (
            partition by run_outs.person_id
            order by run_outs.expected_run_out_date, run_outs.product_id
        ) as due_rank
    from run_outs
    cross join as_of
    where {{ dbt.datediff('as_of.as_of_date', 'run_outs.expected_run_out_date', 'day') }}
        between {{ var('replenishment_days_before_min') }}
        and {{ var('replenishment_days_before_max') }}

),

final as (

    select
        due.person_id,
        'replenishment_due' as audience,
        cast({{ dbt.dateadd('day', -var('replenishment_days_before_max'),
            'due.expected_run_out_date') }} as {{ type_timestamptz() }}) as entered_at,
        'runs_out_in_' || cast(due.days_to_run_out as {{ dbt.type_string() }}) || '_days'
            as entry_reason,
        due.product_id,
        products.product_name,
        products.category,
        cast(due.quantity as {{ dbt.type_int() }}) as quantity,
        due.ordered_at as last_purchased_at,
        due.expected_run_out_date,
        cast(due.days_to_run_out as {{ dbt.type_int() }}) as days_to_run_out
    from due
    left join products
        on due.product_id = products.product_id
    where due.due_rank = 1

)

select * from final
