-- Impact x effort: which flow to build or improve next, from the shop's own data. Per
-- automated flow, expected monthly incremental revenue = conversion lift x reachable
-- entries per month x average order value in the flow's windows (int_workflow_volumes),
-- with its interval, against the team's effort estimate (audience_settings.effort, 1-5).
-- The lift is the flow's measured lift once its holdout has enough persons
-- (workflow_lift_summary.is_sample_sufficient), until then a prior from published
-- benchmarks (vars opportunity_prior_conversion_lift*, source in dbt_project.yml). A flow
-- whose measurement shows no effect (interval reaching zero or below) ranks after every
-- other flow, whatever its point estimate: it never comes first.

with

settings as (

    select * from {{ ref('audience_settings') }}
    where is_automated

),

volumes as (

    select * from {{ ref('int_workflow_volumes') }}

),

lift as (

    select * from {{ ref('workflow_lift_summary') }}

),

candidates as (

    select * from {{ ref('audience_candidates') }}

),

sizes as (

    select
        audience,
        count(*) as qualifying_persons,
        sum(case when is_eligible then 1 else 0 end) as eligible_persons
    from candidates
    group by audience

),

estimates as (

    select
        settings.audience,
        settings.priority,
        settings.effort,
        coalesce(lift.is_sample_sufficient, false) as is_measured,
        case
            when not coalesce(lift.is_sample_sufficient, false)
                then 'not measured yet: benchmark prior'
            when lift.conversion_lift_ci_low > 0 then 'effect measured'
            else 'no effect measured'
        end as evidence,
        case when lift.is_sample_sufficient then lift.conversion_lift
            else {{ var('opportunity_prior_conversion_lift') }}
        end as conversion_lift,
        case when lift.is_sample_sufficient then lift.conversion_lift_ci_low
            else {{ var('opportunity_prior_conversion_lift_low') }}
        end as conversion_lift_low,
        case when lift.is_sample_sufficient then lift.conversion_lift_ci_high
            else {{ var('opportunity_prior_conversion_lift_high') }}
        end as conversion_lift_high,
        volumes.entries_per_month,
        volumes.average_order_value,
        volumes.baseline_conversion_rate
    from settings
    inner join volumes
        on settings.audience = volumes.workflow
    left join lift
        on settings.audience = lift.workflow

),

impact as (

    select
        *,
        conversion_lift * entries_per_month * average_order_value
            as expected_monthly_incremental_revenue,
        conversion_lift_low * entries_per_month * average_order_value
            as expected_monthly_incremental_revenue_low,
        conversion_lift_high * entries_per_month * average_order_value
            as expected_monthly_incremental_revenue_high
    from estimates

),

ranked as (

    select
        *,
        expected_monthly_incremental_revenue / effort as impact_per_effort,
        row_number() over (
            order by
                case when evidence = 'no effect measured' then 1 else 0 end,
                expected_monthly_incremental_revenue / effort desc,
                priority
        ) as impact_rank,
        -- a flow that loses money does not pull the bar for "high impact" down
        avg(greatest(expected_monthly_incremental_revenue, 0)) over () as average_impact
    from impact

),

final as (

    select
        ranked.audience,
        cast(ranked.impact_rank as {{ dbt.type_int() }}) as impact_rank,
        cast(ranked.priority as {{ dbt.type_int() }}) as priority,
        cast(ranked.effort as {{ dbt.type_int() }}) as effort,
        ranked.evidence,
        ranked.is_measured,
        cast(ranked.conversion_lift as {{ type_double() }}) as conversion_lift,
        cast(ranked.conversion_lift_low as {{ type_double() }}) as conversion_lift_low,
        cast(ranked.conversion_lift_high as {{ type_double() }}) as conversion_lift_high,
        cast(ranked.baseline_conversion_rate as {{ type_double() }}) as baseline_conversion_rate,
        cast(ranked.entries_per_month as {{ type_double() }}) as entries_per_month,
        cast(ranked.average_order_value as {{ type_double() }}) as average_order_value,
        cast(ranked.expected_monthly_incremental_revenue as {{ type_double() }})
            as expected_monthly_incremental_revenue,
        cast(ranked.expected_monthly_incremental_revenue_low as {{ type_double() }})
            as expected_monthly_incremental_revenue_low,
        cast(ranked.expected_monthly_incremental_revenue_high as {{ type_double() }})
            as expected_monthly_incremental_revenue_high,
        cast(ranked.impact_per_effort as {{ type_double() }}) as impact_per_effort,
        case
            when ranked.expected_monthly_incremental_revenue >= ranked.average_impact
                and ranked.effort <= 2 then 'quick win'
            when ranked.expected_monthly_incremental_revenue >= ranked.average_impact
                then 'big bet'
            when ranked.effort <= 2 then 'fill-in'
            else 'deprioritise'
        end as quadrant,
        cast(coalesce(sizes.qualifying_persons, 0) as {{ dbt.type_int() }}) as qualifying_persons,
        cast(coalesce(sizes.eligible_persons, 0) as {{ dbt.type_int() }}) as eligible_persons
    from ranked
    left join sizes
        on ranked.audience = sizes.audience

)

select * from final
