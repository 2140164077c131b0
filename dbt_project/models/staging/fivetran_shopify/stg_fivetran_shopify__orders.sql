-- Fivetran's Shopify orders in the raw contract's orders shape. Deleted orders
-- (_fivetran_deleted) are left out; shipping is the sum of the order's shipping lines and
-- the discount code the first one used.

{{ shopify_contract_orders(
    orders=ref('base_fivetran_shopify__order'),
    shipping_lines=ref('base_fivetran_shopify__order_shipping_line'),
    discount_codes=ref('base_fivetran_shopify__order_discount_code')
) }}
