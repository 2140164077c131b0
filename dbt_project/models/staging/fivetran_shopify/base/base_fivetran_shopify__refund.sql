with

source as (

    select * from {{ source('fivetran_shopify', 'refund') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as refund_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        note as refund_note,
        {{ utc_timestamp('created_at') }} as created_at

    from source

)

select * from renamed
