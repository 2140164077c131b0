-- Consents from Airbyte's Shopify streams: checkout answers per order and customers'
-- email marketing consent state.

{{ shopify_contract_consents(
    loader='airbyte',
    contract_orders=ref('stg_airbyte_shopify__orders'),
    orders=ref('base_airbyte_shopify__orders'),
    customers=ref('base_airbyte_shopify__customers')
) }}
