-- One row per element of an order's shipping_lines (JSON array).

with

shipping_lines as (

    {{ json_array_elements(
        ref('base_airbyte_shopify__orders'), 'order_id', 'shipping_lines', 'shipping_line'
    ) }}

),

renamed as (

    select
        {{ json_text('shipping_line', 'id') }} as order_shipping_line_id,
        order_id,
        {{ money(json_text('shipping_line', 'price')) }} as price
    from shipping_lines

)

select * from renamed
