-- Co-purchase affinity: for each product, the product most often in the same paid order
-- (orders of the trailing var('affinity_days') days, at least var('affinity_min_orders')
-- orders together). Ties go to the more popular complement, then the lower product id.

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

ranked as (

    select
        pairs.product_id,
        pairs.complementary_product_id,
        pairs.orders_together,
        cast(pairs.orders_together as {{ type_double() }})
        / popularity.orders_with_product as confidence,
        row_number() over (
            partition by pairs.product_id
            order by
                pairs.orders_together desc, complement_popularity.orders_with_product desc,
                pairs.complementary_product_id
        ) as affinity_rank
    from pairs
    inner join popularity
        on pairs.product_id = popularity.product_id
    inner join popularity as complement_popularity
        on pairs.complementary_product_id = complement_popularity.product_id

),

final as (

    select
        product_id,
        complementary_product_id,
        cast(orders_together as {{ dbt.type_int() }}) as orders_together,
        cast(confidence as {{ type_double() }}) as confidence
    from ranked
    where affinity_rank = 1

)

select * from final
