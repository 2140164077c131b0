-- Fivetran's Shopify orders in the raw contract's orders shape. Deleted orders
-- (_fivetran_deleted) are left out; shipping is the sum of the order's shipping lines, the
-- discount code the first one used, and a partially_paid order's total what its successful
-- transactions took (the order table has no outstanding amount).

{{ shopify_contract_orders(
    orders=ref('base_fivetran_shopify__order'),
    shipping_lines=ref('base_fivetran_shopify__order_shipping_line'),
    discount_codes=ref('base_fivetran_shopify__order_discount_code'),
    transactions=ref('base_fivetran_shopify__transaction')
) }}
