-- Consents from Fivetran's Shopify data: each order's "accepts marketing" answer at
-- checkout (email channel, SMS when the order has only a phone), and each customer's
-- current email marketing consent state (subscribed / unsubscribed) at its update time.

{{ shopify_contract_consents(
    loader='fivetran',
    contract_orders=ref('stg_fivetran_shopify__orders'),
    orders=ref('base_fivetran_shopify__order'),
    customers=ref('base_fivetran_shopify__customer')
) }}
