-- One row per product: the latest extracted version (deletions have deleted_at set).

with

latest as (

    {{ airbyte_latest_records(source('airbyte_shopify', 'products'), 'updated_at') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as shopify_product_id,
        title as product_title,
        nullif(trim(product_type), '') as product_type,
        nullif(trim(vendor), '') as vendor,
        deleted_at is not null as is_deleted

    from latest

)

select * from renamed
