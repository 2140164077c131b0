-- Airbyte's Shopify refunds (order_refunds stream) in the raw contract's refunds shape:
-- amount = refunded line items - order adjustments (see shopify_contract_refunds).

{{ shopify_contract_refunds(
    orders=ref('base_airbyte_shopify__orders'),
    refunds=ref('base_airbyte_shopify__order_refunds'),
    refund_lines=ref('base_airbyte_shopify__refund_line_items'),
    adjustments=ref('base_airbyte_shopify__refund_order_adjustments')
) }}
