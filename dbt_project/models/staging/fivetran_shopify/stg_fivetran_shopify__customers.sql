-- Fivetran's Shopify customers in the raw contract's customers shape; the country is the
-- billing country of the customer's latest order (the customer table has none).

{{ shopify_contract_customers(
    customers=ref('base_fivetran_shopify__customer'),
    orders=ref('base_fivetran_shopify__order')
) }}
