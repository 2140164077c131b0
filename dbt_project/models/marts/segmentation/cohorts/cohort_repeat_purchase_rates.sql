-- Repeat purchase per first-order month: the share of the cohort whose second paid order
-- came within 30 / 60 / 90 days of the first. Each rate counts only customers whose first
-- order is at least that many days before the as-of point (eligible_*), so recent cohorts
-- are not penalised for time they have not had.

with

orders as (

    select * from {{ ref('int_paid_orders_as_of') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

sequenced as (

    select
        person_id,
        ordered_at,
        row_number() over (partition by person_id order by ordered_at, order_id) as order_number
    from orders

),

customers as (

    select
        person_id,
        max(case when order_number = 1 then ordered_at end) as first_order_at,
        max(case when order_number = 2 then ordered_at end) as second_order_at
    from sequenced
    where order_number <= 2
    group by person_id

),

measured as (

    select
        cast({{ dbt.date_trunc('month', 'customers.first_order_at') }} as date) as cohort_month,
        {{ days_between('customers.first_order_at', 'customers.second_order_at') }}
            as days_to_second_order,
        {{ days_between('customers.first_order_at', 'as_of.as_of_at') }} as days_observed
    from customers
    cross join as_of

),

flagged as (

    select
        cohort_month,
        case when days_to_second_order is not null then 1 else 0 end as has_second_order,
        case when days_observed >= 30 then 1 else 0 end as is_eligible_30d,
        case
            when days_observed >= 30 and days_to_second_order <= 30 then 1
            else 0
        end as is_repeat_30d,
        case when days_observed >= 60 then 1 else 0 end as is_eligible_60d,
        case
            when days_observed >= 60 and days_to_second_order <= 60 then 1
            else 0
        end as is_repeat_60d,
        case when days_observed >= 90 then 1 else 0 end as is_eligible_90d,
        case
            when days_observed >= 90 and days_to_second_order <= 90 then 1
            else 0
        end as is_repeat_90d
    from measured

),

final as (

    select
        cohort_month,
        cast(count(*) as {{ dbt.type_int() }}) as cohort_customers,
        cast(sum(has_second_order) as {{ dbt.type_int() }}) as repeat_customers,
        cast(sum(is_eligible_30d) as {{ dbt.type_int() }}) as eligible_30d,
        cast(sum(is_repeat_30d) as {{ type_double() }}) / nullif(sum(is_eligible_30d), 0)
            as repeat_rate_30d,
        cast(sum(is_eligible_60d) as {{ dbt.type_int() }}) as eligible_60d,
        cast(sum(is_repeat_60d) as {{ type_double() }}) / nullif(sum(is_eligible_60d), 0)
            as repeat_rate_60d,
        cast(sum(is_eligible_90d) as {{ dbt.type_int() }}) as eligible_90d,
        cast(sum(is_repeat_90d) as {{ type_double() }}) / nullif(sum(is_eligible_90d), 0)
            as repeat_rate_90d
    from flagged
    group by cohort_month

)

select * from final
