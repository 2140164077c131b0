-- Products as the order lines name them (the raw contract keys products like every
-- Shopify path: SKU, else a hash of the line name), with the latest line's name and price;
-- category = Shopify's product type, else the line's vendor. Replenishment facts are not
-- in Shopify: int_product_replenishment_cycles infers them.

{{ shopify_contract_products(
    orders=ref('base_fivetran_shopify__order'),
    order_lines=ref('base_fivetran_shopify__order_line'),
    products=ref('base_fivetran_shopify__product')
) }}
