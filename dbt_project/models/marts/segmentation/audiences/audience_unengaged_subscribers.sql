-- Unengaged subscribers: a current email opt-in, still mailed (a send within
-- unengaged_recent_send_days), but no open or click for unengaged_days (counted from the
-- later of the last open/click and the opt-in). The first unengaged_sunset_after_days are
-- the re-permission step; after that, sunset. Last open/click come from dim_customers
-- (all data: with an earlier as_of_date later engagement is visible).

with

consents as (

    select * from {{ ref('int_consent_history') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

recent_sends as (

    select * from {{ ref('int_person_recent_sends') }}

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

mailed as (

    select
        recent_sends.person_id,
        max(recent_sends.occurred_at) as last_sent_at
    from recent_sends
    cross join as_of
    where recent_sends.occurred_at
        >= {{ dbt.dateadd('day', -var('unengaged_recent_send_days'), 'as_of.as_of_at') }}
    group by recent_sends.person_id

),

engagement as (

    select
        customers.person_id,
        case
            when customers.last_email_click_at > customers.last_email_open_at
                or customers.last_email_open_at is null
                then customers.last_email_click_at
            else customers.last_email_open_at
        end as last_engaged_at,
        mailed.last_sent_at
    from customers
    inner join mailed
        on customers.person_id = mailed.person_id

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
            when
                {{ days_between('measured.engagement_reference_at', 'as_of.as_of_at') }}
                < {{ var('unengaged_days') + var('unengaged_sunset_after_days') }}
                then 're_permission'
            else 'sunset'
        end as entry_reason,
        case
            when
                {{ days_between('measured.engagement_reference_at', 'as_of.as_of_at') }}
                < {{ var('unengaged_days') + var('unengaged_sunset_after_days') }}
                then 're_permission'
            else 'sunset'
        end as unengaged_step,
        cast(
            floor({{ days_between('measured.engagement_reference_at', 'as_of.as_of_at') }})
            as {{ dbt.type_int() }}
        ) as days_unengaged,
        measured.last_engaged_at,
        measured.last_sent_at
    from measured
    cross join as_of
    where
        {{ days_between('measured.engagement_reference_at', 'as_of.as_of_at') }}
        >= {{ var('unengaged_days') }}
        and measured.last_sent_at > measured.engagement_reference_at

)

select * from final
