-- One row per refund: the latest extracted version.

with

latest as (

    {{ airbyte_latest_records(source('airbyte_shopify', 'order_refunds')) }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as refund_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        note as refund_note,
        refund_line_items,
        order_adjustments,
        cast(created_at as {{ type_timestamptz() }}) as created_at

    from latest

)

select * from renamed
