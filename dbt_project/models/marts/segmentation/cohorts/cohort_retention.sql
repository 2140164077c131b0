-- Cohort retention matrix: first-order month x months since the first order, with active
-- customers (a paid order in that month), retention rate, orders, net revenue and
-- cumulative net revenue per cohort customer. Every cell up to the as-of month is present
-- (zeros included); is_complete_month is false for the as-of month itself.

with

orders as (

    select * from {{ ref('int_paid_orders_as_of') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

first_orders as (

    select
        person_id,
        cast({{ dbt.date_trunc('month', 'min(ordered_at)') }} as date) as cohort_month
    from orders
    group by person_id

),

cohorts as (

    select
        cohort_month,
        count(*) as cohort_customers
    from first_orders
    group by cohort_month

),

dated_orders as (

    select
        first_orders.cohort_month,
        orders.person_id,
        orders.net_revenue,
        cast(
            {{ dbt.datediff(
                'first_orders.cohort_month',
                'cast(' ~ dbt.date_trunc('month', 'orders.ordered_at') ~ ' as date)',
                'month') }}
            as {{ dbt.type_int() }}
        ) as months_since_first_order
    from orders
    inner join first_orders
        on orders.person_id = first_orders.person_id

),

activity as (

    select
        cohort_month,
        months_since_first_order,
        count(distinct person_id) as active_customers,
        count(*) as orders_count,
        sum(net_revenue) as net_revenue
    from dated_orders
    group by cohort_month, months_since_first_order

),

month_offsets as (

    select distinct months_since_first_order from activity

),

grid as (

    select
        cohorts.cohort_month,
        cohorts.cohort_customers,
        month_offsets.months_since_first_order
    from cohorts
    cross join month_offsets
    cross join as_of
    where {{ dbt.datediff(
            'cohorts.cohort_month',
            'cast(' ~ dbt.date_trunc('month', 'as_of.as_of_date') ~ ' as date)',
            'month') }} >= month_offsets.months_since_first_order

),

cells as (

    select
        grid.cohort_month,
        grid.months_since_first_order,
        cast(
            {{ dbt.dateadd(
                'month', 'grid.months_since_first_order', 'grid.cohort_month') }}
            as date
        ) as activity_month,
        grid.cohort_customers,
        coalesce(activity.active_customers, 0) as active_customers,
        coalesce(activity.orders_count, 0) as orders_count,
        coalesce(activity.net_revenue, 0) as net_revenue
    from grid
    left join activity
        on grid.cohort_month = activity.cohort_month
        and grid.months_since_first_order = activity.months_since_first_order

),

final as (

    select
        cells.cohort_month,
        cells.months_since_first_order,
        cells.activity_month,
        cast(cells.cohort_customers as {{ dbt.type_int() }}) as cohort_customers,
        cast(cells.active_customers as {{ dbt.type_int() }}) as active_customers,
        cast(cells.active_customers as {{ type_double() }}) / cells.cohort_customers
            as retention_rate,
        cast(cells.orders_count as {{ dbt.type_int() }}) as orders_count,
        cast(cells.net_revenue as {{ dbt.type_numeric() }}) as net_revenue,
        cast(
            sum(cells.net_revenue) over (
                partition by cells.cohort_month
                order by cells.months_since_first_order
                rows between unbounded preceding and current row
            ) / cells.cohort_customers
            as {{ type_double() }}
        ) as cumulative_revenue_per_customer,
        cells.activity_month < cast({{ dbt.date_trunc('month', 'as_of.as_of_date') }} as date)
            as is_complete_month
    from cells
    cross join as_of

)

select * from final
