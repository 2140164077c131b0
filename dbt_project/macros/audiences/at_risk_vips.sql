{% macro audience_rule__at_risk_vips(as_of_at) %}
{#- At-risk VIPs: a VIP (value and regularity, customer_lifecycle) silent past their own
    cadence: the flow starts at_risk_vip_cadence_multiple x cadence days after the last
    order (e.g. day 46 for a 35-day cadence), never before the floor
    at_risk_vip_silent_days_min nor after the cap at_risk_vip_silent_days_max, and sends on
    the days at_risk_vip_step_days of the flow (day 1 = entry; 1/7/14), one row per step.
    An order ends it (the rule only looks at the last order). VIP status is as of the as-of
    point (customer_lifecycle keeps no past states). -#}
{%- set steps = var('at_risk_vip_step_days') %}
{%- set floor_days = var('at_risk_vip_silent_days_min') %}
{%- set cap_days = var('at_risk_vip_silent_days_max') %}
with

vips as (

    select
        person_id,
        last_order_at,
        last_order_category,
        cadence_days * {{ var('at_risk_vip_cadence_multiple') }} as cadence_entry_days
    from {{ ref('customer_lifecycle') }}
    where is_vip
        and last_order_at < {{ as_of_at }}

),

entries as (

    select
        vips.*,
        case
            when vips.cadence_entry_days is null or vips.cadence_entry_days < {{ floor_days }}
                then {{ floor_days }}
            when vips.cadence_entry_days > {{ cap_days }} then {{ cap_days }}
            else ceil(vips.cadence_entry_days)
        end as entry_day,
        case
            when vips.cadence_entry_days is null or vips.cadence_entry_days < {{ floor_days }}
                then 'silent_{{ floor_days }}_days'
            when vips.cadence_entry_days > {{ cap_days }} then 'silent_{{ cap_days }}_days'
            else 'past_own_cadence'
        end as entry_reason
    from vips

),

steps as (
    {%- for day in steps %}
    {%- set end_day = steps[loop.index] - 1 if not loop.last else steps[-1] %}

    select
        entries.*,
        {{ loop.index }} as step,
        {{ add_days('entries.last_order_at', 'entries.entry_day + ' ~ (day - 1)) }} as step_at,
        {{ add_days('entries.last_order_at', 'entries.entry_day + ' ~ end_day) }} as exited_at
    from entries
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

)

select
    {{ audience_select('at_risk_vips', {
        'person_id': 'steps.person_id',
        'step': 'steps.step',
        'entered_at': add_days('steps.last_order_at', 'steps.entry_day'),
        'step_at': 'steps.step_at',
        'exited_at': 'steps.exited_at',
        'entry_reason': 'steps.entry_reason',
        'reference_at': 'steps.last_order_at',
        'category': 'steps.last_order_category',
    }) }}
from steps
{% endmacro %}
