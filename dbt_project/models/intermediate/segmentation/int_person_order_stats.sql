-- One row per buyer as of the as-of point: first/last order, counts and revenue (all time
-- and trailing 12 months), own cadence (mean days between paid orders) and its regularity,
-- discount share and the category of the last order.

with

orders as (

    select * from {{ ref('int_paid_orders_as_of') }}

),

order_items as (

    select * from {{ ref('fct_order_items') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

per_person as (

    select
        person_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as orders_count,
        sum(net_revenue) as net_revenue,
        sum(case when has_discount then 1 else 0 end) as discounted_orders_count,
        stddev_samp(days_since_previous_order) as gap_days_stddev
    from orders
    group by person_id

),

trailing_12_months as (

    select
        orders.person_id,
        count(*) as orders_12m,
        sum(orders.net_revenue) as net_revenue_12m
    from orders
    cross join as_of
    where orders.ordered_at >= {{ dbt.dateadd('day', -365, 'as_of.as_of_at') }}
    group by orders.person_id

),

last_orders as (

    select
        person_id,
        order_id
    from (
        select
            person_id,
            order_id,
            row_number() over (
                partition by person_id order by ordered_at desc, order_id desc
            ) as recency_rank
        from orders
    ) as ranked
    where recency_rank = 1

),

last_order_categories as (

    select
        last_orders.person_id,
        order_items.category,
        row_number() over (
            partition by last_orders.person_id
            order by order_items.line_amount desc, order_items.category
        ) as category_rank
    from last_orders
    inner join order_items
        on last_orders.order_id = order_items.order_id

),

final as (

    select
        per_person.person_id,
        per_person.first_order_at,
        per_person.last_order_at,
        cast(per_person.orders_count as {{ dbt.type_int() }}) as orders_count,
        cast(per_person.net_revenue as {{ dbt.type_numeric() }}) as net_revenue,
        cast(coalesce(trailing_12_months.orders_12m, 0) as {{ dbt.type_int() }}) as orders_12m,
        cast(coalesce(trailing_12_months.net_revenue_12m, 0) as {{ dbt.type_numeric() }})
            as net_revenue_12m,
        cast(
            {{ dbt.datediff('cast(per_person.first_order_at as date)', 'as_of.as_of_date', 'day') }}
            as {{ dbt.type_int() }}
        ) as days_since_first_order,
        cast(
            {{ dbt.datediff('cast(per_person.last_order_at as date)', 'as_of.as_of_date', 'day') }}
            as {{ dbt.type_int() }}
        ) as days_since_last_order,
        -- own cadence: mean days between paid orders (null for a single order)
        cast(
            {{ days_between('per_person.first_order_at', 'per_person.last_order_at') }}
            / nullif(per_person.orders_count - 1, 0)
            as {{ type_double() }}
        ) as cadence_days,
        cast(
            per_person.gap_days_stddev
            / nullif(
                {{ days_between('per_person.first_order_at', 'per_person.last_order_at') }}
                / nullif(per_person.orders_count - 1, 0),
                0
            )
            as {{ type_double() }}
        ) as cadence_cv,
        cast(per_person.discounted_orders_count as {{ type_double() }})
        / per_person.orders_count as discounted_order_share,
        last_order_categories.category as last_order_category
    from per_person
    cross join as_of
    left join trailing_12_months
        on per_person.person_id = trailing_12_months.person_id
    left join last_order_categories
        on per_person.person_id = last_order_categories.person_id
        and last_order_categories.category_rank = 1

)

select * from final
