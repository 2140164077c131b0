-- Fivetran's Shopify refunds in the raw contract's refunds shape: one row per refund with
-- money returned. The amount is spread over two tables: refunded lines (subtotal, plus
-- total_tax when prices exclude tax) and order adjustments (shipping refunds and
-- discrepancies, negative when money goes back), so amount = lines - adjustments.

{{ shopify_contract_refunds(
    orders=ref('base_fivetran_shopify__order'),
    refunds=ref('base_fivetran_shopify__refund'),
    refund_lines=ref('base_fivetran_shopify__order_line_refund'),
    adjustments=ref('base_fivetran_shopify__order_adjustment')
) }}
