-- At-risk VIPs: VIPs (value and regularity, see customer_lifecycle) silent between
-- at_risk_vip_silent_days_min and _max days, or past their own cadence
-- (lifecycle_at_risk_cadence_multiple x cadence), and not yet lapsed.

with

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

scores as (

    -- always present; empty (null churn_probability) until the first `rw-ml score`
    select * from {{ source('ml', 'customer_scores') }}

),

candidates as (

    select
        lifecycle.*,
        least(
            {{ var('at_risk_vip_silent_days_min') }},
            ceil(
                coalesce(lifecycle.cadence_days, 1e9)
                * {{ var('lifecycle_at_risk_cadence_multiple') }}
            )
        ) as entry_after_days
    from lifecycle
    where lifecycle.is_vip
        and lifecycle.days_since_last_order <= lifecycle.lapsed_after_days
        and (
            lifecycle.days_since_last_order between {{ var('at_risk_vip_silent_days_min') }}
            and {{ var('at_risk_vip_silent_days_max') }}
            or lifecycle.days_since_last_order
            > lifecycle.cadence_days * {{ var('lifecycle_at_risk_cadence_multiple') }}
        )

),

final as (

    select
        candidates.person_id,
        'at_risk_vips' as audience,
        {{ add_days('candidates.last_order_at', 'candidates.entry_after_days') }} as entered_at,
        case
            when candidates.days_since_last_order between {{ var('at_risk_vip_silent_days_min') }}
                and {{ var('at_risk_vip_silent_days_max') }} then 'silent_45_60_days'
            else 'past_own_cadence'
        end as entry_reason,
        candidates.days_since_last_order as days_silent,
        candidates.cadence_days,
        candidates.net_revenue_12m,
        candidates.last_order_category,
        cast(scores.churn_probability as {{ type_double() }}) as churn_probability
    from candidates
    left join scores
        on candidates.person_id = scores.person_id

)

select * from final
