with

source as (

    select * from {{ source('fivetran_shopify', 'order_shipping_line') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as order_shipping_line_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        {{ money('price') }} as price

    from source

)

select * from renamed
