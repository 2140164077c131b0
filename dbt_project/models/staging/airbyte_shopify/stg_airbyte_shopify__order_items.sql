-- Airbyte's Shopify line items in the raw contract's order_items shape.

{{ shopify_contract_order_items(
    orders=ref('base_airbyte_shopify__orders'),
    order_lines=ref('base_airbyte_shopify__order_line_items')
) }}
