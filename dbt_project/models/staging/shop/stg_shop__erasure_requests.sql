with

source as (

    select * from {{ source('shop', 'erasure_requests') }}

),

renamed as (

    select
        ---------- ids
        request_id,
        nullif(trim(customer_id), '') as customer_id,
        {{ normalize_email('email') }} as email,

        ---------- timestamps
        requested_at

    from source

)

select * from renamed
