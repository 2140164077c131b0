with

source as (

    select * from {{ source('shop', 'email_events') }}

),

renamed as (

    select
        ---------- ids
        event_id,
        message_id,

        ---------- identifiers (normalised for stitching)
        {{ normalize_email('email') }} as email,

        ---------- event
        workflow,
        event_type,

        ---------- timestamps
        occurred_at

    from source

)

select * from renamed
