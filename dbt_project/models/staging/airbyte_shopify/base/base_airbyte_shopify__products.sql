-- One row per product: the latest extracted version (deletions have deleted_at set).

with

source as (

    select * from {{ source('airbyte_shopify', 'products') }}

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
        cast(id as {{ dbt.type_string() }}) as shopify_product_id,
        title as product_title,
        nullif(trim(product_type), '') as product_type,
        nullif(trim(vendor), '') as vendor,
        deleted_at is not null as is_deleted

    from versions
    where version_rank = 1

)

select * from renamed
