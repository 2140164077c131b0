-- One row per customer: the latest extracted version.

with

source as (

    select * from {{ source('airbyte_shopify', 'customers') }}

),

versions as (

    select
        source.*,
        row_number() over (
            partition by id order by _airbyte_extracted_at desc, updated_at desc
        ) as version_rank
    from source

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

    from versions
    where version_rank = 1

)

select * from renamed
