with

source as (

    select * from {{ source('fivetran_shopify', 'order_line') }}

),

renamed as (

    select
        ---------- ids
        cast(id as {{ dbt.type_string() }}) as order_line_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(product_id as {{ dbt.type_string() }}) as shopify_product_id,
        cast(index as {{ dbt.type_int() }}) as line_index,

        ---------- product
        sku,
        name as line_name,
        vendor,

        ---------- amounts
        cast(quantity as {{ dbt.type_int() }}) as quantity,
        {{ money('price') }} as price,
        {{ money('total_discount') }} as total_discount

    from source

)

select * from renamed
