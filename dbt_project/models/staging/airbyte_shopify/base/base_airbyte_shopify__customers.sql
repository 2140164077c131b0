-- One row per customer: the latest extracted version.

with

latest as (

    {{ airbyte_latest_records(source('airbyte_shopify', 'customers'), 'updated_at') }}

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

        ---------- consent (Shopify's email marketing consent object)
        lower({{ json_text('email_marketing_consent', 'state') }})
            as email_marketing_consent_state,
        cast({{ json_text('email_marketing_consent', 'consent_updated_at') }}
            as {{ type_timestamptz() }}) as email_marketing_consent_updated_at,

        ---------- timestamps
        cast(created_at as {{ type_timestamptz() }}) as created_at,
        cast(updated_at as {{ type_timestamptz() }}) as updated_at

    from latest

)

select * from renamed
