-- One row per element of an order's line_items (JSON array).

with

line_items as (

    {{ json_array_elements(
        ref('base_airbyte_shopify__orders'), 'order_id', 'line_items', 'line_item'
    ) }}

),

renamed as (

    select
        ---------- ids
        {{ json_text('line_item', 'id') }} as order_line_id,
        order_id,
        {{ json_text('line_item', 'product_id') }} as shopify_product_id,
        element_index as line_index,

        ---------- product
        {{ json_text('line_item', 'sku') }} as sku,
        {{ json_text('line_item', 'name') }} as line_name,
        {{ json_text('line_item', 'vendor') }} as vendor,

        ---------- amounts
        cast({{ json_text('line_item', 'quantity') }} as {{ dbt.type_int() }}) as quantity,
        {{ money(json_text('line_item', 'price')) }} as price,
        {{ money(json_text('line_item', 'total_discount')) }} as total_discount

    from line_items

)

select * from renamed
