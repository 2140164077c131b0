with

source as (

    select * from {{ source('fivetran_shopify', 'order_line_refund') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as order_line_refund_id,
        cast(refund_id as {{ dbt.type_string() }}) as refund_id,
        cast(order_line_id as {{ dbt.type_string() }}) as order_line_id,
        quantity,
        {{ money('subtotal') }} as subtotal,
        {{ money('total_tax') }} as total_tax

    from source

)

select * from renamed
