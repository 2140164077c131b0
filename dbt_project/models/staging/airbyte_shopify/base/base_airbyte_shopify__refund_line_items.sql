-- One row per element of a refund's refund_line_items (JSON array).

with

refund_line_items as (

    {{ json_array_elements(
        ref('base_airbyte_shopify__order_refunds'), 'refund_id',
        'refund_line_items', 'refund_line_item'
    ) }}

),

renamed as (

    select
        {{ json_text('refund_line_item', 'id') }} as refund_line_item_id,
        refund_id,
        {{ json_text('refund_line_item', 'line_item_id') }} as order_line_id,
        cast({{ json_text('refund_line_item', 'quantity') }} as {{ dbt.type_int() }})
            as quantity,
        {{ money(json_text('refund_line_item', 'subtotal')) }} as subtotal,
        {{ money(json_text('refund_line_item', 'total_tax')) }} as total_tax
    from refund_line_items

)

select * from renamed
