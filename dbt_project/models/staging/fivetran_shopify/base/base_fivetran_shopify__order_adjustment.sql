with

source as (

    select * from {{ source('fivetran_shopify', 'order_adjustment') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as order_adjustment_id,
        cast(refund_id as {{ dbt.type_string() }}) as refund_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        lower(kind) as adjustment_kind,
        {{ money('amount') }} as amount,
        {{ money('tax_amount') }} as tax_amount

    from source

)

select * from renamed
