-- Replenishment cycle per product: how many days one unit lasts. The catalog's
-- replenishment_days wins where given; otherwise the cycle is observed in the shop's own
-- orders: the gap between a person's consecutive paid purchases of the product divided by
-- the units bought the first time (the median, so a few lapsed buyers do not stretch it).
-- Gaps alone do not make a product consumable (a few people buy a second mug), so an
-- observed cycle also needs replenishment behaviour: of the product's buyers who came back
-- to the shop later, at least replenishment_min_repeat_share bought the product again
-- (waived when the catalog marks the product consumable). A product with fewer than
-- replenishment_min_observed_gaps gaps takes its category's median when the category
-- shows that behaviour and the product itself does not contradict it (at least
-- replenishment_min_returning_buyers returning buyers and too few repeats). A product the
-- catalog marks as not consumable, or without enough evidence, has no cycle (no row).
-- Only orders before the segmentation as-of point are used.

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
        sequenced.person_id,
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

first_purchases as (

    select
        person_id,
        product_id,
        min(ordered_at) as first_ordered_at
    from purchases
    group by 1, 2

),

last_purchases as (

    select
        person_id,
        max(ordered_at) as last_ordered_at
    from purchases
    group by 1

),

repeaters as (

    select distinct
        person_id,
        product_id
    from gaps

),

buyers as (

    -- one row per person and product: did the person come back to the shop (a paid order
    -- a day or more after the first purchase of the product), and buy the product again?
    select
        first_purchases.product_id,
        products.category,
        case
            when {{ dbt.datediff(
                'first_purchases.first_ordered_at', 'last_purchases.last_ordered_at', 'day'
            ) }} >= 1 then 1
            else 0
        end as is_returning,
        case when repeaters.person_id is not null then 1 else 0 end as is_repeating
    from first_purchases
    inner join last_purchases
        on first_purchases.person_id = last_purchases.person_id
    left join repeaters
        on first_purchases.person_id = repeaters.person_id
        and first_purchases.product_id = repeaters.product_id
    inner join products
        on first_purchases.product_id = products.product_id
    where coalesce(products.catalog_is_consumable, true)

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

product_buyers as (

    -- share of the returning buyers who bought again (null without returning buyers)
    select
        product_id,
        sum(is_returning) as returning_buyers,
        cast(sum(is_repeating) as {{ dbt.type_float() }})
        / nullif(sum(is_returning), 0) as repeat_share
    from buyers
    group by 1

),

category_buyers as (

    -- share of the returning buyers who bought again (null without returning buyers)
    select
        category,
        sum(is_returning) as returning_buyers,
        cast(sum(is_repeating) as {{ dbt.type_float() }})
        / nullif(sum(is_returning), 0) as repeat_share
    from buyers
    group by 1

),

evidence as (

    select
        products.product_id,
        products.category,
        products.replenishment_days,
        product_gaps.median_gap_days as product_median_gap_days,
        category_gaps.median_gap_days as category_median_gap_days,
        coalesce(product_gaps.observed_gaps, 0) as observed_gaps,
        coalesce(category_gaps.observed_gaps, 0) as category_observed_gaps,
        coalesce(product_buyers.returning_buyers, 0) as returning_buyers,
        product_buyers.repeat_share,
        -- replenishment behaviour: the catalog says consumable, or enough returning buyers
        -- bought the product (category) again
        coalesce(products.catalog_is_consumable, false)
        or product_buyers.repeat_share >= {{ var('replenishment_min_repeat_share') }}
            as is_product_replenished,
        coalesce(products.catalog_is_consumable, false)
        or category_buyers.repeat_share >= {{ var('replenishment_min_repeat_share') }}
            as is_category_replenished,
        -- enough of the product's own returning buyers, too few of them buying it again
        not coalesce(products.catalog_is_consumable, false)
        and coalesce(product_buyers.returning_buyers, 0)
        >= {{ var('replenishment_min_returning_buyers') }}
        and coalesce(product_buyers.repeat_share, 0)
        < {{ var('replenishment_min_repeat_share') }} as is_product_durable
    from products
    left join product_gaps
        on products.product_id = product_gaps.product_id
    left join category_gaps
        on products.category = category_gaps.category
    left join product_buyers
        on products.product_id = product_buyers.product_id
    left join category_buyers
        on products.category = category_buyers.category
    where products.replenishment_days > 0
        or coalesce(products.catalog_is_consumable, true)

),

sources as (

    select
        evidence.*,
        case
            when evidence.replenishment_days > 0 then 'catalog'
            when evidence.observed_gaps >= {{ var('replenishment_min_observed_gaps') }}
                and evidence.is_product_replenished
                then 'observed_product'
            when evidence.category_observed_gaps >= {{ var('replenishment_min_observed_gaps') }}
                and evidence.is_category_replenished
                and not evidence.is_product_durable
                then 'observed_category'
        end as cycle_source
    from evidence

),

cycles as (

    select
        product_id,
        category,
        cycle_source,
        case cycle_source
            when 'catalog' then cast(replenishment_days as {{ dbt.type_float() }})
            when 'observed_product' then product_median_gap_days
            when 'observed_category' then category_median_gap_days
        end as cycle_days,
        observed_gaps,
        category_observed_gaps,
        repeat_share
    from sources

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
        cast(category_observed_gaps as {{ dbt.type_int() }}) as category_observed_gaps,
        cast(repeat_share as {{ dbt.type_float() }}) as repeat_share
    from cycles
    where cycle_source is not null

)

select * from final
