-- The rare email (MAP) events the segmentation needs event by event - clicks (last-touch),
-- unsubscribes and spam complaints (consent), bounces (suppression) - with the person
-- behind the address. Filtering first keeps the scan cheap: sends, deliveries and opens
-- are most of the volume.

with

email_events as (

    select * from {{ ref('stg_shop__email_events') }}
    where event_type in ('click', 'unsubscribe', 'spam_complaint', 'bounce')

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
        email_events.message_id,
        email_events.event_type,
        email_events.occurred_at
    from email_events
    inner join stitched
        on email_events.email = stitched.email

)

select * from final
