with

source as (

    select * from {{ shop_relation('consents') }}

),

renamed as (

    select
        ---------- identifiers (normalised for stitching)
        nullif(trim(customer_id), '') as customer_id,
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone') }} as phone,
        -- as written, for reporting values that normalisation nulled
        nullif(trim(email), '') as email_as_written,
        nullif(trim(phone), '') as phone_as_written,

        ---------- consent
        lower(channel) as channel,
        lower(status) as status,
        source as consent_source,
        legal_basis,

        ---------- timestamps
        recorded_at

    from source

)

select * from renamed
