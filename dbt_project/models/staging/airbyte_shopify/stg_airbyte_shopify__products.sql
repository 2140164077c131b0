-- Products as Airbyte's Shopify line items name them (category: product type, else vendor).

{{ shopify_contract_products(
    orders=ref('base_airbyte_shopify__orders'),
    order_lines=ref('base_airbyte_shopify__order_line_items'),
    products=ref('base_airbyte_shopify__products')
) }}
