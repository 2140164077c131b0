with

source as (

    select * from {{ source('fivetran_shopify', 'customer') }}

),

renamed as (

    select
        ---------- ids
        cast(id as {{ dbt.type_string() }}) as customer_id,

        ---------- profile
        email,
        phone,
        first_name,
        last_name,

        ---------- consent (Shopify's email marketing consent state)
        lower(email_marketing_consent_state) as email_marketing_consent_state,
        {{ utc_timestamp('email_marketing_consent_consent_updated_at') }}
            as email_marketing_consent_updated_at,

        ---------- timestamps
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at

    from source

)

select * from renamed
