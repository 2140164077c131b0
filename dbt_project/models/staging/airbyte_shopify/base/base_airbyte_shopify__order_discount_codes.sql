-- One row per element of an order's discount_codes (JSON array).

with

discount_codes as (

    {{ json_array_elements(
        ref('base_airbyte_shopify__orders'), 'order_id', 'discount_codes', 'discount_code'
    ) }}

),

renamed as (

    select
        order_id,
        element_index as code_index,
        nullif(trim({{ json_text('discount_code', 'code') }}), '') as discount_code,
        {{ money(json_text('discount_code', 'amount')) }} as amount
    from discount_codes

)

select * from renamed
