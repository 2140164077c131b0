with

source as (

    select * from {{ source('shop', 'events') }}

),

renamed as (

    select
        ---------- ids
        event_id,
        product_id,

        ---------- identifiers (normalised for stitching)
        -- device ids are machine-made: no trimming (it is costly on the largest table)
        nullif(anonymous_id, '') as anonymous_id,
        nullif(trim(customer_id), '') as customer_id,
        {{ normalize_email('email') }} as email,
        nullif(trim(email), '') as email_as_written,

        ---------- event
        event_type,
        in_stock as is_in_stock,

        ---------- timestamps
        occurred_at

    from source

)

select * from renamed
