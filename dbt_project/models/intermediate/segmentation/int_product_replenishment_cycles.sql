-- Replenishment cycle per product: how many days one unit lasts. The catalog's
-- replenishment_days wins where given; otherwise the cycle is observed in the shop's own
-- orders: the gap between a person's consecutive paid purchases of the product divided by
-- the units bought the first time (the median, so a few lapsed buyers do not stretch it).
-- A product with fewer than replenishment_min_observed_gaps gaps takes its category's
-- median; a product the catalog marks as not consumable, or without enough evidence,
-- has no cycle (no row). Only orders before the segmentation as-of point are used.

with

order_items as (

    select * from {{ ref('fct_order_items') }}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

purchases as (

    -- one row per person, product and order (lines of the same product summed)
    select
        order_items.person_id,
        order_items.product_id,
        order_items.order_id,
        order_items.ordered_at,
        sum(order_items.quantity) as quantity
    from order_items
    cross join as_of
    where order_items.is_paid
        and order_items.quantity > 0
        and order_items.ordered_at < as_of.as_of_at
    group by 1, 2, 3, 4

),

sequenced as (

    select
        purchases.*,
        lag(purchases.ordered_at) over (
            partition by purchases.person_id, purchases.product_id
            order by purchases.ordered_at, purchases.order_id
        ) as previous_ordered_at,
        lag(purchases.quantity) over (
            partition by purchases.person_id, purchases.product_id
            order by purchases.ordered_at, purchases.order_id
        ) as previous_quantity
    from purchases

),

gaps as (

    select
        sequenced.product_id,
        products.category,
        cast(
            {{ dbt.datediff('sequenced.previous_ordered_at', 'sequenced.ordered_at', 'day') }}
            as {{ dbt.type_float() }}
        ) / sequenced.previous_quantity as gap_days_per_unit
    from sequenced
    inner join products
        on sequenced.product_id = products.product_id
    where sequenced.previous_ordered_at is not null
        -- a same-day reorder is a split basket, not a cycle
        and {{ dbt.datediff('sequenced.previous_ordered_at', 'sequenced.ordered_at', 'day') }} >= 1
        -- the catalog says it is not consumable: not evidence for its category either
        and coalesce(products.catalog_is_consumable, true)

),

product_gaps as (

    select
        product_id,
        count(*) as observed_gaps,
        percentile_cont(0.5) within group (order by gap_days_per_unit) as median_gap_days
    from gaps
    group by 1

),

category_gaps as (

    select
        category,
        count(*) as observed_gaps,
        percentile_cont(0.5) within group (order by gap_days_per_unit) as median_gap_days
    from gaps
    group by 1

),

cycles as (

    select
        products.product_id,
        products.category,
        case
            when products.replenishment_days > 0
                then cast(products.replenishment_days as {{ dbt.type_float() }})
            when product_gaps.observed_gaps >= {{ var('replenishment_min_observed_gaps') }}
                then product_gaps.median_gap_days
            when category_gaps.observed_gaps >= {{ var('replenishment_min_observed_gaps') }}
                then category_gaps.median_gap_days
        end as cycle_days,
        case
            when products.replenishment_days > 0 then 'catalog'
            when product_gaps.observed_gaps >= {{ var('replenishment_min_observed_gaps') }}
                then 'observed_product'
            when category_gaps.observed_gaps >= {{ var('replenishment_min_observed_gaps') }}
                then 'observed_category'
        end as cycle_source,
        coalesce(product_gaps.observed_gaps, 0) as observed_gaps,
        coalesce(category_gaps.observed_gaps, 0) as category_observed_gaps
    from products
    left join product_gaps
        on products.product_id = product_gaps.product_id
    left join category_gaps
        on products.category = category_gaps.category
    where products.replenishment_days > 0
        or coalesce(products.catalog_is_consumable, true)

),

final as (

    select
        product_id,
        category,
        -- at least a day: a cycle below one day is not a replenishment reminder
        cast(
            case when cycle_days < 1 then 1 else round(cycle_days) end
            as {{ dbt.type_int() }}
        ) as replenishment_days,
        cycle_source,
        cast(observed_gaps as {{ dbt.type_int() }}) as observed_gaps,
        cast(category_observed_gaps as {{ dbt.type_int() }}) as category_observed_gaps
    from cycles
    where cycle_source is not null

)

select * from final
