with

source as (

    select * from {{ source('fivetran_shopify', 'order_discount_code') }}

),

renamed as (

    select
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(index as {{ dbt.type_int() }}) as code_index,
        nullif(trim(code), '') as discount_code,
        {{ money('amount') }} as amount

    from source

)

select * from renamed
