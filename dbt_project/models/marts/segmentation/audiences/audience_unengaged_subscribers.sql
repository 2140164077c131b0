-- Unengaged subscribers: a current email opt-in, mailed, but no open or click for
-- unengaged_days (counted from the later of the last open/click and the opt-in). The
-- first unengaged_sunset_after_days are the re-permission step; after that, sunset.

with

consents as (

    select * from {{ ref('int_consent_history') }}

),

email_events as (

    select * from {{ ref('int_person_email_events') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

subscribers as (

    select
        person_id,
        valid_from as opted_in_at
    from consents
    where channel = 'email'
        and status = 'opt_in'
        and is_current

),

engagement as (

    select
        email_events.person_id,
        max(case when email_events.event_type in ('open', 'click')
            then email_events.occurred_at end) as last_engaged_at,
        max(case when email_events.event_type = 'sent'
            then email_events.occurred_at end) as last_sent_at
    from email_events
    cross join as_of
    where email_events.occurred_at < as_of.as_of_at
    group by email_events.person_id

),

measured as (

    select
        subscribers.person_id,
        subscribers.opted_in_at,
        engagement.last_engaged_at,
        engagement.last_sent_at,
        case
            when engagement.last_engaged_at > subscribers.opted_in_at
                then engagement.last_engaged_at
            else subscribers.opted_in_at
        end as engagement_reference_at
    from subscribers
    inner join engagement
        on subscribers.person_id = engagement.person_id

),

final as (

    select
        measured.person_id,
        'unengaged_subscribers' as audience,
        {{ dbt.dateadd('day', var('unengaged_days'), 'measured.engagement_reference_at') }}
            as entered_at,
        case
            when {{ days_between('measured.engagement_reference_at', 'as_of.as_of_at') }}
                < {{ var('unengaged_days') + var('unengaged_sunset_after_days') }}
                then 're_permission'
            else 'sunset'
        end as entry_reason,
        case
            when {{ days_between('measured.engagement_reference_at', 'as_of.as_of_at') }}
                < {{ var('unengaged_days') + var('unengaged_sunset_after_days') }}
                then 're_permission'
            else 'sunset'
        end as unengaged_step,
        cast(floor({{ days_between('measured.engagement_reference_at', 'as_of.as_of_at') }})
            as {{ dbt.type_int() }}) as days_unengaged,
        measured.last_engaged_at,
        measured.last_sent_at
    from measured
    cross join as_of
    where {{ days_between('measured.engagement_reference_at', 'as_of.as_of_at') }}
            >= {{ var('unengaged_days') }}
        and measured.last_sent_at > measured.engagement_reference_at

)

select * from final
