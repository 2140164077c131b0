with

source as (

    select * from {{ source('fivetran_shopify', 'transaction') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as transaction_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(refund_id as {{ dbt.type_string() }}) as refund_id,
        lower(kind) as kind,
        lower(status) as status,
        coalesce(test, false) as is_test,
        {{ money('amount') }} as amount,
        {{ utc_timestamp('processed_at') }} as processed_at

    from source

)

select * from renamed
