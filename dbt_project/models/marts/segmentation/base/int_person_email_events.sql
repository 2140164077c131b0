-- Email (MAP) events with the person behind the address.

with

email_events as (

    select * from {{ ref('stg_shop__email_events') }}

),

stitched as (

    select * from {{ ref('int_identifiers_stitched') }}
    where person_id is not null

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
        on {{ identifier_key('email', 'email_events.email') }} = stitched.identifier_key

)

select * from final
