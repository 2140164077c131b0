-- One row per element of a refund's order_adjustments (JSON array): shipping refunds and
-- refund discrepancies, negative when money goes back to the customer.

with

order_adjustments as (

    {{ json_array_elements(
        ref('base_airbyte_shopify__order_refunds'), 'refund_id',
        'order_adjustments', 'order_adjustment'
    ) }}

),

renamed as (

    select
        {{ json_text('order_adjustment', 'id') }} as order_adjustment_id,
        refund_id,
        lower({{ json_text('order_adjustment', 'kind') }}) as adjustment_kind,
        {{ money(json_text('order_adjustment', 'amount')) }} as amount,
        {{ money(json_text('order_adjustment', 'tax_amount')) }} as tax_amount
    from order_adjustments

)

select * from renamed
