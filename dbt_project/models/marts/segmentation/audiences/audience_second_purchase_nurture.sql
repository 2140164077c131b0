-- Second-purchase nurture: a single paid order placed nurture_days_min..nurture_days_max
-- days ago. Suggests the complementary product (co-purchase affinity) of the first order's
-- biggest line that the person has not bought.

with

stats as (

    select * from {{ ref('int_person_order_stats') }}

),

orders as (

    select * from {{ ref('int_paid_orders_as_of') }}

),

order_items as (

    select * from {{ ref('fct_order_items') }}

),

affinity as (

    select * from {{ ref('int_product_affinity') }}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

single_buyers as (

    select *
    from stats
    where orders_count = 1
        and days_since_first_order between {{ var('nurture_days_min') }}
        and {{ var('nurture_days_max') }}

),

first_lines as (

    select
        single_buyers.person_id,
        order_items.product_id,
        order_items.category,
        row_number() over (
            partition by single_buyers.person_id
            order by order_items.line_amount desc, order_items.product_id
        ) as line_rank
    from single_buyers
    inner join orders
        on single_buyers.person_id = orders.person_id
    inner join order_items
        on orders.order_id = order_items.order_id

),

unbought_affinity as (

    -- complementary products of each first-order line that the person has not bought
    -- (an anti-join: Spark refuses a correlated subquery inside a join condition)
    select distinct
        first_lines.person_id,
        first_lines.product_id,
        affinity.complementary_product_id
    from first_lines
    inner join affinity
        on first_lines.product_id = affinity.product_id
    where not exists (
        select 1
        from first_lines as bought
        where bought.person_id = first_lines.person_id
            and bought.product_id = affinity.complementary_product_id
    )

),

suggestions as (

    select
        first_lines.person_id,
        first_lines.product_id as first_product_id,
        first_lines.category as first_order_category,
        unbought_affinity.complementary_product_id
    from first_lines
    left join unbought_affinity
        on first_lines.person_id = unbought_affinity.person_id
        and first_lines.product_id = unbought_affinity.product_id
    where first_lines.line_rank = 1

),

final as (

    select
        single_buyers.person_id,
        'second_purchase_nurture' as audience,
        {{ dbt.dateadd('day', var('nurture_days_min'), 'single_buyers.first_order_at') }}
            as entered_at,
        'single_order_' || cast(single_buyers.days_since_first_order as {{ dbt.type_string() }})
        || '_days_ago' as entry_reason,
        single_buyers.days_since_first_order,
        suggestions.first_order_category,
        suggestions.first_product_id,
        suggestions.complementary_product_id,
        products.product_name as complementary_product_name,
        products.category as complementary_product_category
    from single_buyers
    left join suggestions
        on single_buyers.person_id = suggestions.person_id
    left join products
        on suggestions.complementary_product_id = products.product_id

)

select * from final
