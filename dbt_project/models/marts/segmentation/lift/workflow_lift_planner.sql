-- Holdout-size planner: per automated flow, how many weeks of entries its holdout needs to
-- detect a lift of var lift_planner_relative_lift (relative to the flow's baseline
-- conversion) with var lift_power at var lift_confidence, at the current holdout share and
-- at 50 %, and the smallest share that gets there within var lift_planner_horizon_weeks.
-- From the shop's own volumes and design effect (int_workflow_volumes). Entries of global
-- holdout members are not compared, so they do not count towards the sample.
--   needed entries at share h = K x (1/h + 1/(1 - h)),
--   K = (z_confidence + z_power)^2 x p (1 - p) x design effect / target lift^2
{%- set z = lift_z() + lift_power_z() %}
{%- set horizon = var('lift_planner_horizon_weeks') %}

with

volumes as (

    select * from {{ ref('int_workflow_volumes') }}

),

settings as (

    select * from {{ ref('audience_settings') }}
    where is_automated

),

inputs as (

    select
        volumes.workflow,
        volumes.entries_per_week * (1 - {{ var('global_holdout_percent') }} / 100.0)
            as comparable_entries_per_week,
        volumes.baseline_conversion_rate,
        volumes.design_effect,
        coalesce(settings.holdout_percent, {{ var('audience_holdout_percent') }}) / 100.0
            as holdout_share,
        {{ var('lift_planner_relative_lift') }} * volumes.baseline_conversion_rate
            as target_conversion_lift
    from volumes
    inner join settings
        on volumes.workflow = settings.audience

),

sizing as (

    select
        *,
        {{ z * z }} * baseline_conversion_rate * (1 - baseline_conversion_rate)
        * design_effect
        / nullif(target_conversion_lift * target_conversion_lift, 0) as k
    from inputs

),

needed as (

    select
        *,
        k * (1.0 / nullif(holdout_share, 0) + 1.0 / nullif(1 - holdout_share, 0))
            as entries_needed,
        4 * k as entries_needed_at_half,
        -- h (1 - h) must reach k / (entries within the horizon)
        k / nullif(comparable_entries_per_week * {{ horizon }}, 0) as share_product_needed
    from sizing

),

final as (

    select
        workflow,
        cast(holdout_share as {{ type_double() }}) as holdout_share,
        cast(comparable_entries_per_week as {{ type_double() }}) as comparable_entries_per_week,
        cast(baseline_conversion_rate as {{ type_double() }}) as baseline_conversion_rate,
        cast(design_effect as {{ type_double() }}) as design_effect,
        cast(target_conversion_lift as {{ type_double() }}) as target_conversion_lift,
        cast(entries_needed as {{ type_double() }}) as entries_needed,
        cast(entries_needed / nullif(comparable_entries_per_week, 0) as {{ type_double() }})
            as weeks_needed,
        cast(
            entries_needed_at_half / nullif(comparable_entries_per_week, 0)
            as {{ type_double() }}
        ) as weeks_needed_at_half,
        cast(case when share_product_needed <= 0.25
                then (1 - sqrt(1 - 4 * share_product_needed)) / 2
        end as {{ type_double() }}) as holdout_share_for_horizon,
        case
            when coalesce(comparable_entries_per_week, 0) = 0
                then 'too small to measure: no reachable entries in the last year'
            when baseline_conversion_rate is null or baseline_conversion_rate = 0
                then 'no baseline yet: no untreated entry with a complete window'
            when entries_needed_at_half / comparable_entries_per_week > 52
                then 'too small to measure: even a 50% holdout needs '
                    || cast(cast(
                        ceiling(entries_needed_at_half / comparable_entries_per_week)
                        as {{ dbt.type_int() }}
                    ) as {{ dbt.type_string() }})
                    || ' weeks'
            when share_product_needed > 0.25
                then 'needs more than {{ horizon }} weeks: a 50% holdout takes '
                    || cast(cast(
                        ceiling(entries_needed_at_half / comparable_entries_per_week)
                        as {{ dbt.type_int() }}
                    ) as {{ dbt.type_string() }})
                    || ' weeks'
            when holdout_share * (1 - holdout_share) >= share_product_needed
                then 'the current holdout detects it in '
                    || cast(cast(
                        ceiling(entries_needed / comparable_entries_per_week)
                        as {{ dbt.type_int() }}
                    ) as {{ dbt.type_string() }})
                    || ' weeks'
            else 'raise the holdout to '
                || cast(cast(
                    ceiling(100 * (1 - sqrt(1 - 4 * share_product_needed)) / 2)
                    as {{ dbt.type_int() }}
                ) as {{ dbt.type_string() }})
                || '% to detect it within {{ horizon }} weeks'
        end as plan_note
    from needed

)

select * from final
