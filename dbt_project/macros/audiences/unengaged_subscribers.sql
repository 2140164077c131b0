{% macro audience_rule__unengaged_subscribers(as_of_at) %}
{#- Unengaged subscribers: a current email opt-in, still mailed (a send within
    unengaged_recent_send_days), but no open or click for unengaged_days (counted from the
    later of the last open/click and the opt-in). Step 1 re-permission; step 2 sunset
    after unengaged_sunset_after_days more. Current consent and recent sends are as of
    the build, so this rule sees only the persons who qualify now; their history
    accumulates in audience_membership_history. -#}
with

subscribers as (

    select
        person_id,
        valid_from as opted_in_at
    from {{ ref('int_consent_history') }}
    where channel = 'email'
        and status = 'opt_in'
        and is_current

),

mailed as (

    select
        person_id,
        max(occurred_at) as last_sent_at
    from {{ ref('int_person_recent_sends') }}
    where occurred_at
        >= {{ dbt.dateadd('day', -var('unengaged_recent_send_days'), as_of_at) }}
        and occurred_at < {{ as_of_at }}
    group by person_id

),

measured as (

    select
        subscribers.person_id,
        mailed.last_sent_at,
        case
            when customers.last_email_click_at > customers.last_email_open_at
                or customers.last_email_open_at is null
                then customers.last_email_click_at
            else customers.last_email_open_at
        end as last_engaged_at,
        subscribers.opted_in_at
    from subscribers
    inner join mailed
        on subscribers.person_id = mailed.person_id
    inner join {{ ref('dim_customers') }} as customers
        on subscribers.person_id = customers.person_id

),

referenced as (

    select
        person_id,
        last_sent_at,
        case
            when last_engaged_at > opted_in_at then last_engaged_at
            else opted_in_at
        end as engagement_reference_at
    from measured

),

steps as (

    select
        person_id,
        engagement_reference_at,
        1 as step,
        're_permission' as entry_reason,
        {{ dbt.dateadd('day', var('unengaged_days'), 'engagement_reference_at') }} as step_at,
        {{ dbt.dateadd('day', var('unengaged_days') + var('unengaged_sunset_after_days'),
            'engagement_reference_at') }} as exited_at
    from referenced
    where last_sent_at > engagement_reference_at
    union all
    select
        person_id,
        engagement_reference_at,
        2 as step,
        'sunset' as entry_reason,
        {{ dbt.dateadd('day', var('unengaged_days') + var('unengaged_sunset_after_days'),
            'engagement_reference_at') }} as step_at,
        null as exited_at
    from referenced
    where last_sent_at > engagement_reference_at

)

select
    {{ audience_select('unengaged_subscribers', {
        'person_id': 'steps.person_id',
        'step': 'steps.step',
        'entered_at': dbt.dateadd('day', var('unengaged_days'), 'steps.engagement_reference_at'),
        'step_at': 'steps.step_at',
        'exited_at': 'steps.exited_at',
        'entry_reason': 'steps.entry_reason',
        'reference_at': 'steps.engagement_reference_at',
    }) }}
from steps
{% endmacro %}
