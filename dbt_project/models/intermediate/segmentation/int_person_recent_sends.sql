-- Emails sent to each person shortly before the as-of point (the longer of
-- frequency_cap_days and unengaged_recent_send_days): the frequency cap counts them and
-- unengaged subscribers must still be mailed.
{%- set days = [var('frequency_cap_days'), var('unengaged_recent_send_days')] | max %}

with

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

email_events as (

    select * from {{ ref('stg_shop__email_events') }}
    where event_type = 'sent'
        and occurred_at >= (
            select {{ dbt.dateadd('day', -days, 'as_of_at') }} from {{ ref('segmentation_as_of') }}
        )

),

stitched as (

    select
        identifier_value as email,
        person_id
    from {{ ref('int_identifiers_stitched') }}
    where person_id is not null
        and identifier_type = 'email'

),

final as (

    select
        email_events.event_id,
        stitched.person_id,
        email_events.workflow,
        email_events.occurred_at
    from email_events
    cross join as_of
    inner join stitched
        on email_events.email = stitched.email
    where email_events.occurred_at < as_of.as_of_at

)

select * from final
