-- Cross-sell: for each product, the complement bought with it more often than chance. Over
-- the paid orders of the trailing affinity_days: support = orders holding both (at least
-- affinity_min_orders), confidence = support / orders holding the product (at least
-- affinity_min_confidence), lift = confidence / the complement's share of all orders (at
-- least affinity_min_lift). Ranked by lift, then confidence, then the lower product id, so
-- a bestseller wins only where it is really bought *with* the product; a product without a
-- qualifying complement gets none (no bestseller by default).

with

order_items as (

    select * from {{ ref('fct_order_items') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

recent_lines as (

    select distinct
        order_items.order_id,
        order_items.product_id
    from order_items
    cross join as_of
    where order_items.is_paid
        and order_items.product_id is not null
        and order_items.ordered_at < as_of.as_of_at
        and order_items.ordered_at
        >= {{ dbt.dateadd('day', -var('affinity_days'), 'as_of.as_of_at') }}

),

order_count as (

    select count(distinct order_id) as orders from recent_lines

),

popularity as (

    select
        product_id,
        count(*) as orders_with_product
    from recent_lines
    group by product_id

),

pairs as (

    select
        anchor.product_id,
        complement.product_id as complementary_product_id,
        count(*) as orders_together
    from recent_lines as anchor
    inner join recent_lines as complement
        on anchor.order_id = complement.order_id
        and anchor.product_id <> complement.product_id
    group by anchor.product_id, complement.product_id
    having count(*) >= {{ var('affinity_min_orders') }}

),

measured as (

    select
        pairs.product_id,
        pairs.complementary_product_id,
        pairs.orders_together,
        cast(pairs.orders_together as {{ type_double() }})
        / popularity.orders_with_product as confidence,
        cast(pairs.orders_together as {{ type_double() }})
        / popularity.orders_with_product
        / (
            cast(complement_popularity.orders_with_product as {{ type_double() }})
            / order_count.orders
        ) as lift
    from pairs
    inner join popularity
        on pairs.product_id = popularity.product_id
    inner join popularity as complement_popularity
        on pairs.complementary_product_id = complement_popularity.product_id
    cross join order_count

),

ranked as (

    select
        measured.*,
        row_number() over (
            partition by measured.product_id
            order by
                measured.lift desc,
                measured.confidence desc,
                measured.complementary_product_id
        ) as affinity_rank
    from measured
    where measured.confidence >= {{ var('affinity_min_confidence') }}
        and measured.lift >= {{ var('affinity_min_lift') }}

),

final as (

    select
        product_id,
        complementary_product_id,
        cast(orders_together as {{ dbt.type_int() }}) as orders_together,
        cast(confidence as {{ type_double() }}) as confidence,
        cast(lift as {{ type_double() }}) as lift
    from ranked
    where affinity_rank = 1

)

select * from final
