-- Fivetran's Shopify order lines in the raw contract's order_items shape (lines of
-- deleted orders left out); line_number follows the line's index in the order.

{{ shopify_contract_order_items(
    orders=ref('base_fivetran_shopify__order'),
    order_lines=ref('base_fivetran_shopify__order_line')
) }}
