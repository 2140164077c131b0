with

source as (

    select * from {{ source('fivetran_shopify', 'product') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as shopify_product_id,
        title as product_title,
        nullif(trim(product_type), '') as product_type,
        nullif(trim(vendor), '') as vendor,
        coalesce(_fivetran_deleted, false) as is_deleted

    from source

)

select * from renamed
