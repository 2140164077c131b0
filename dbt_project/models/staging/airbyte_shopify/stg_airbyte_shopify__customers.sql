-- Airbyte's Shopify customers in the raw contract's customers shape.

{{ shopify_contract_customers(
    customers=ref('base_airbyte_shopify__customers'),
    orders=ref('base_airbyte_shopify__orders')
) }}
