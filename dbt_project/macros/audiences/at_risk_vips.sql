{% macro audience_rule__at_risk_vips(as_of_at) %}
{#- At-risk VIPs: VIPs (value and regularity, customer_lifecycle) silent between
    at_risk_vip_silent_days_min and _max days, or past their own cadence
    (lifecycle_at_risk_cadence_multiple x cadence), and not yet lapsed. Past VIP states are
    not kept, so this rule sees only the persons who qualify at the as-of point
    (customer_lifecycle's); their history accumulates in audience_membership_history. -#}
with

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
    from {{ ref('customer_lifecycle') }} as lifecycle
    where lifecycle.is_vip
        and lifecycle.days_since_last_order <= lifecycle.lapsed_after_days
        and (
            lifecycle.days_since_last_order between {{ var('at_risk_vip_silent_days_min') }}
            and {{ var('at_risk_vip_silent_days_max') }}
            or lifecycle.days_since_last_order
            > lifecycle.cadence_days * {{ var('lifecycle_at_risk_cadence_multiple') }}
        )

)

select
    {{ audience_select('at_risk_vips', {
        'person_id': 'candidates.person_id',
        'entered_at': add_days('candidates.last_order_at', 'candidates.entry_after_days'),
        'entry_reason': "case when candidates.days_since_last_order between "
            ~ var('at_risk_vip_silent_days_min') ~ " and " ~ var('at_risk_vip_silent_days_max')
            ~ " then 'silent_45_60_days' else 'past_own_cadence' end",
        'reference_at': 'candidates.last_order_at',
        'category': 'candidates.last_order_category',
    }) }}
from candidates
{% endmacro %}
