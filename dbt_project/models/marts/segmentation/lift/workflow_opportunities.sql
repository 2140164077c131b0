-- Workflow opportunity: per automated audience, from the shop's own data, how many
-- persons qualify today and can be mailed, the trailing-12-month net revenue they carry
-- (revenue at stake), their historical conversion and revenue per entry in the lift
-- window (holdout and global-holdout entries, i.e. without the flow; all entries when
-- there are none), and the window revenue expected from today's reachable members without
-- any flow. Ranked by revenue at stake so marketers can start where the money is.

with

settings as (

    select * from {{ ref('audience_settings') }}
    where is_automated

),

candidates as (

    select * from {{ ref('audience_candidates') }}

),

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

outcomes as (

    select * from {{ ref('int_workflow_entry_outcomes') }}
    where is_window_complete

),

sizes as (

    select
        candidates.audience,
        count(*) as qualifying_persons,
        sum(case when not candidates.is_suppressed then 1 else 0 end) as reachable_persons,
        sum(case when candidates.is_eligible then 1 else 0 end) as eligible_persons,
        sum(lifecycle.net_revenue_12m) as revenue_at_stake_12m
    from candidates
    left join lifecycle
        on candidates.person_id = lifecycle.person_id
    group by candidates.audience

),

baselines as (

    select
        workflow,
        count(*) as historical_entries,
        avg(case when has_converted then 1.0 else 0.0 end) as all_conversion_rate,
        avg(revenue_in_window) as all_revenue_per_entry,
        avg(case when experiment_group <> 'treatment'
                then case when has_converted then 1.0 else 0.0 end
        end) as untreated_conversion_rate,
        avg(case when experiment_group <> 'treatment' then revenue_in_window end)
            as untreated_revenue_per_entry
    from outcomes
    group by workflow

),

final as (

    select
        settings.audience,
        cast(settings.priority as {{ dbt.type_int() }}) as priority,
        cast(coalesce(sizes.qualifying_persons, 0) as {{ dbt.type_int() }}) as qualifying_persons,
        cast(coalesce(sizes.reachable_persons, 0) as {{ dbt.type_int() }}) as reachable_persons,
        cast(coalesce(sizes.eligible_persons, 0) as {{ dbt.type_int() }}) as eligible_persons,
        cast(coalesce(sizes.revenue_at_stake_12m, 0) as {{ type_double() }})
            as revenue_at_stake_12m,
        cast(coalesce(baselines.historical_entries, 0) as {{ dbt.type_int() }})
            as historical_entries,
        cast(
            coalesce(baselines.untreated_conversion_rate, baselines.all_conversion_rate)
            as {{ type_double() }}
        ) as baseline_conversion_rate,
        cast(
            coalesce(baselines.untreated_revenue_per_entry, baselines.all_revenue_per_entry)
            as {{ type_double() }}
        ) as baseline_revenue_per_entry,
        cast(
            coalesce(sizes.reachable_persons, 0)
            * coalesce(baselines.untreated_revenue_per_entry, baselines.all_revenue_per_entry)
            as {{ type_double() }}
        ) as expected_window_revenue_without_flow,
        cast(row_number() over (
            order by coalesce(sizes.revenue_at_stake_12m, 0) desc, settings.priority
        ) as {{ dbt.type_int() }}) as impact_rank
    from settings
    left join sizes
        on settings.audience = sizes.audience
    left join baselines
        on settings.audience = baselines.workflow

)

select * from final
