-- One row per element of an order's shipping_lines (JSON array).

with

orders as (

    select * from {{ ref('base_airbyte_shopify__orders') }}

),

shipping_lines as (

    select
        orders.order_id,
        shipping_line.element as shipping_line
    from orders
    {{ json_array_rows('orders.shipping_lines', 'shipping_line') }}

),

renamed as (

    select
        {{ json_text('shipping_line', 'id') }} as order_shipping_line_id,
        order_id,
        {{ money(json_text('shipping_line', 'price')) }} as price
    from shipping_lines

)

select * from renamed
