-- Program lift: the global holdout read out per calendar month since the first flow's
-- launch. Every person is drawn into the global holdout (no automated flow at all) or not,
-- so comparing the two groups' purchases in a month measures all flows together, with
-- their overlaps and their effect on people who never entered a flow (an intention-to-treat
-- estimate over the whole customer base, diluted by design). Per month: buyers and net
-- revenue per person in each group, the lifts with normal intervals (each person is one
-- observation per month) and the incremental revenue of the persons not held out.
{%- set z = lift_z() %}

with

assignments as (

    select
        person_id,
        is_holdout
    from {{ ref('current_holdout_assignments') }}
    where experiment = 'global'

),

settings as (

    -- a flow without a launch date was launched before the data starts
    select
        case when count(*) = count(launch_date) then min(launch_date) end
            as first_launch_date
    from {{ ref('audience_settings') }}
    where is_automated

),

orders as (

    select * from {{ ref('int_paid_orders_as_of') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

person_months as (

    select
        orders.person_id,
        cast({{ dbt.date_trunc('month', 'orders.ordered_at') }} as date) as month_start,
        sum(orders.net_revenue) as revenue,
        sum(orders.net_revenue) * sum(orders.net_revenue) as revenue_sq
    from orders
    cross join settings
    where settings.first_launch_date is null
        or orders.ordered_at >= cast(
            {{ dbt.date_trunc('month', 'settings.first_launch_date') }}
            as {{ type_timestamptz() }}
        )
    group by orders.person_id, cast({{ dbt.date_trunc('month', 'orders.ordered_at') }} as date)

),

group_sizes as (

    select
        sum(case when is_holdout then 0 else 1 end) as exposed_persons,
        sum(case when is_holdout then 1 else 0 end) as holdout_persons
    from assignments

),

month_sums as (

    select
        person_months.month_start,
        sum(case when assignments.is_holdout then 0 else 1 end) as exposed_buyers,
        sum(case when assignments.is_holdout then 0 else person_months.revenue end)
            as exposed_revenue,
        sum(case when assignments.is_holdout then 0 else person_months.revenue_sq end)
            as exposed_revenue_sq,
        sum(case when assignments.is_holdout then 1 else 0 end) as holdout_buyers,
        sum(case when assignments.is_holdout then person_months.revenue else 0 end)
            as holdout_revenue,
        sum(case when assignments.is_holdout then person_months.revenue_sq else 0 end)
            as holdout_revenue_sq
    from person_months
    inner join assignments
        on person_months.person_id = assignments.person_id
    group by person_months.month_start

),

rates as (

    -- persons without an order in the month count as 0 in the means and variances
    select
        month_sums.*,
        group_sizes.exposed_persons,
        group_sizes.holdout_persons,
        1.0 * month_sums.exposed_buyers / nullif(group_sizes.exposed_persons, 0)
            as exposed_conversion_rate,
        1.0 * month_sums.holdout_buyers / nullif(group_sizes.holdout_persons, 0)
            as holdout_conversion_rate,
        month_sums.exposed_revenue / nullif(group_sizes.exposed_persons, 0)
            as exposed_revenue_per_person,
        month_sums.holdout_revenue / nullif(group_sizes.holdout_persons, 0)
            as holdout_revenue_per_person,
        (
            month_sums.exposed_revenue_sq
            - month_sums.exposed_revenue * month_sums.exposed_revenue
            / nullif(group_sizes.exposed_persons, 0)
        ) / nullif(group_sizes.exposed_persons - 1, 0) as exposed_revenue_variance,
        (
            month_sums.holdout_revenue_sq
            - month_sums.holdout_revenue * month_sums.holdout_revenue
            / nullif(group_sizes.holdout_persons, 0)
        ) / nullif(group_sizes.holdout_persons - 1, 0) as holdout_revenue_variance
    from month_sums
    cross join group_sizes

),

errors as (

    select
        *,
        exposed_conversion_rate - holdout_conversion_rate as conversion_lift,
        sqrt(
            exposed_conversion_rate * (1 - exposed_conversion_rate) / nullif(exposed_persons, 0)
            + holdout_conversion_rate * (1 - holdout_conversion_rate) / nullif(holdout_persons, 0)
        ) as conversion_lift_standard_error,
        exposed_revenue_per_person - holdout_revenue_per_person as revenue_lift_per_person,
        sqrt(
            exposed_revenue_variance / nullif(exposed_persons, 0)
            + holdout_revenue_variance / nullif(holdout_persons, 0)
        ) as revenue_lift_standard_error
    from rates

),

final as (

    select
        errors.month_start,
        cast({{ dbt.dateadd('month', 1, 'errors.month_start') }} as {{ type_timestamptz() }})
        <= as_of.as_of_at as is_complete_month,
        cast(errors.exposed_persons as {{ dbt.type_int() }}) as exposed_persons,
        cast(errors.holdout_persons as {{ dbt.type_int() }}) as holdout_persons,
        cast(errors.exposed_buyers as {{ dbt.type_int() }}) as exposed_buyers,
        cast(errors.holdout_buyers as {{ dbt.type_int() }}) as holdout_buyers,
        cast(errors.exposed_conversion_rate as {{ type_double() }}) as exposed_conversion_rate,
        cast(errors.holdout_conversion_rate as {{ type_double() }}) as holdout_conversion_rate,
        cast(errors.conversion_lift as {{ type_double() }}) as conversion_lift,
        cast(
            errors.conversion_lift - {{ z }} * errors.conversion_lift_standard_error
            as {{ type_double() }}
        ) as conversion_lift_ci_low,
        cast(
            errors.conversion_lift + {{ z }} * errors.conversion_lift_standard_error
            as {{ type_double() }}
        ) as conversion_lift_ci_high,
        cast(errors.exposed_revenue_per_person as {{ type_double() }})
            as exposed_revenue_per_person,
        cast(errors.holdout_revenue_per_person as {{ type_double() }})
            as holdout_revenue_per_person,
        cast(errors.revenue_lift_per_person as {{ type_double() }}) as revenue_lift_per_person,
        cast(
            errors.revenue_lift_per_person - {{ z }} * errors.revenue_lift_standard_error
            as {{ type_double() }}
        ) as revenue_lift_per_person_ci_low,
        cast(
            errors.revenue_lift_per_person + {{ z }} * errors.revenue_lift_standard_error
            as {{ type_double() }}
        ) as revenue_lift_per_person_ci_high,
        cast(errors.revenue_lift_per_person * errors.exposed_persons as {{ type_double() }})
            as incremental_revenue,
        cast(
            (errors.revenue_lift_per_person - {{ z }} * errors.revenue_lift_standard_error)
            * errors.exposed_persons as {{ type_double() }}
        ) as incremental_revenue_ci_low,
        cast(
            (errors.revenue_lift_per_person + {{ z }} * errors.revenue_lift_standard_error)
            * errors.exposed_persons as {{ type_double() }}
        ) as incremental_revenue_ci_high
    from errors
    cross join as_of

)

select * from final
