-- Airbyte's Shopify orders in the raw contract's orders shape (deleted orders left out).

{{ shopify_contract_orders(
    orders=ref('base_airbyte_shopify__orders'),
    shipping_lines=ref('base_airbyte_shopify__order_shipping_lines'),
    discount_codes=ref('base_airbyte_shopify__order_discount_codes')
) }}
