-- One row per element of an order's discount_codes (JSON array).

with

orders as (

    select * from {{ ref('base_airbyte_shopify__orders') }}

),

discount_codes as (

    select
        orders.order_id,
        cast(discount_code.position as {{ dbt.type_int() }}) as code_index,
        discount_code.element as discount_code
    from orders
    {{ json_array_rows('orders.discount_codes', 'discount_code') }}

),

renamed as (

    select
        order_id,
        code_index,
        nullif(trim({{ json_text('discount_code', 'code') }}), '') as discount_code,
        {{ money(json_text('discount_code', 'amount')) }} as amount
    from discount_codes

)

select * from renamed
