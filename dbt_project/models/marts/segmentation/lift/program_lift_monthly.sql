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

    select min(launch_date) as first_launch_date
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
        cast({{ dbt.date_trunc('month', 'orders.ordered_at') }} as date) as month,
        sum(orders.net_revenue) as revenue
    from orders
    cross join settings
    where orders.ordered_at >= cast({{ dbt.date_trunc('month', 'settings.first_launch_date') }}
        as {{ type_timestamptz() }})
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
        person_months.month,
        {%- for group, condition in [('exposed', 'not'), ('holdout', '')] %}
        sum(case when {{ condition }} assignments.is_holdout then 1 else 0 end)
            as {{ group }}_buyers,
        sum(case when {{ condition }} assignments.is_holdout then person_months.revenue
            else 0 end) as {{ group }}_revenue,
        sum(case when {{ condition }} assignments.is_holdout
            then person_months.revenue * person_months.revenue else 0 end)
            as {{ group }}_revenue_sq{{ ',' if not loop.last }}
        {%- endfor %}
    from person_months
    inner join assignments
        on person_months.person_id = assignments.person_id
    group by person_months.month

),

rates as (

    select
        month_sums.*,
        group_sizes.exposed_persons,
        group_sizes.holdout_persons,
        {%- for group in ['exposed', 'holdout'] %}
        1.0 * {{ group }}_buyers / nullif(group_sizes.{{ group }}_persons, 0)
            as {{ group }}_conversion_rate,
        {{ group }}_revenue / nullif(group_sizes.{{ group }}_persons, 0)
            as {{ group }}_revenue_per_person,
        -- sample variance of revenue per person (persons without an order count as 0)
        ({{ group }}_revenue_sq
            - {{ group }}_revenue * {{ group }}_revenue / nullif(group_sizes.{{ group }}_persons, 0))
            / nullif(group_sizes.{{ group }}_persons - 1, 0) as {{ group }}_revenue_variance
        {{- ',' if not loop.last }}
        {%- endfor %}
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
        errors.month,
        cast({{ dbt.dateadd('month', 1, 'errors.month') }} as {{ type_timestamptz() }})
            <= as_of.as_of_at as is_complete_month,
        cast(errors.exposed_persons as {{ dbt.type_int() }}) as exposed_persons,
        cast(errors.holdout_persons as {{ dbt.type_int() }}) as holdout_persons,
        cast(errors.exposed_buyers as {{ dbt.type_int() }}) as exposed_buyers,
        cast(errors.holdout_buyers as {{ dbt.type_int() }}) as holdout_buyers,
        cast(errors.exposed_conversion_rate as {{ type_double() }}) as exposed_conversion_rate,
        cast(errors.holdout_conversion_rate as {{ type_double() }}) as holdout_conversion_rate,
        cast(errors.conversion_lift as {{ type_double() }}) as conversion_lift,
        cast(errors.conversion_lift - {{ z }} * errors.conversion_lift_standard_error
            as {{ type_double() }}) as conversion_lift_ci_low,
        cast(errors.conversion_lift + {{ z }} * errors.conversion_lift_standard_error
            as {{ type_double() }}) as conversion_lift_ci_high,
        cast(errors.exposed_revenue_per_person as {{ type_double() }})
            as exposed_revenue_per_person,
        cast(errors.holdout_revenue_per_person as {{ type_double() }})
            as holdout_revenue_per_person,
        cast(errors.revenue_lift_per_person as {{ type_double() }}) as revenue_lift_per_person,
        cast(errors.revenue_lift_per_person - {{ z }} * errors.revenue_lift_standard_error
            as {{ type_double() }}) as revenue_lift_per_person_ci_low,
        cast(errors.revenue_lift_per_person + {{ z }} * errors.revenue_lift_standard_error
            as {{ type_double() }}) as revenue_lift_per_person_ci_high,
        cast(errors.revenue_lift_per_person * errors.exposed_persons as {{ type_double() }})
            as incremental_revenue,
        cast((errors.revenue_lift_per_person - {{ z }} * errors.revenue_lift_standard_error)
            * errors.exposed_persons as {{ type_double() }}) as incremental_revenue_ci_low,
        cast((errors.revenue_lift_per_person + {{ z }} * errors.revenue_lift_standard_error)
            * errors.exposed_persons as {{ type_double() }}) as incremental_revenue_ci_high
    from errors
    cross join as_of

)

select * from final
