with

source as (

    select * from {{ shop_relation('customers') }}

),

renamed as (

    select
        ---------- ids
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,

        ---------- identifiers (normalised for stitching)
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone') }} as phone,
        -- as written, for reporting values that normalisation nulled
        nullif(trim(email), '') as email_as_written,
        nullif(trim(phone), '') as phone_as_written,

        ---------- profile
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        upper(nullif(trim(country), '')) as country,

        ---------- timestamps
        created_at,
        updated_at

    from source

)

select * from renamed
