-- One row per order: the latest extracted version (an "append" sync keeps every version);
-- an order whose latest record is a deletion (deleted_at set) is marked deleted.

with

latest as (

    {{ airbyte_latest_records(source('airbyte_shopify', 'orders'), 'updated_at') }}

),

renamed as (

    select
        ---------- ids
        cast(id as {{ dbt.type_string() }}) as order_id,
        {{ json_text('customer', 'id') }} as customer_id,
        name as order_name,

        ---------- buyer
        email,
        phone,
        {{ json_text('billing_address', 'phone') }} as billing_address_phone,
        {{ json_text('shipping_address', 'phone') }} as shipping_address_phone,
        {{ json_text('billing_address', 'first_name') }} as billing_address_first_name,
        {{ json_text('billing_address', 'last_name') }} as billing_address_last_name,
        {{ json_text('billing_address', 'country_code') }} as billing_address_country_code,
        buyer_accepts_marketing as has_buyer_accepted_marketing,

        ---------- status
        lower(financial_status) as financial_status,
        deleted_at is not null as is_deleted,

        ---------- amounts
        currency,
        coalesce(taxes_included, false) as has_taxes_included,
        {{ money('subtotal_price') }} as subtotal_price,
        {{ money('total_discounts') }} as total_discounts,
        {{ money('total_tax') }} as total_tax,
        {{ money('total_price') }} as total_price,
        -- what is still to be paid (Shopify's total_outstanding; partially_paid orders)
        {{ money('total_outstanding') }} as total_outstanding,

        ---------- nested lists (JSON arrays, one row each in the base models below)
        line_items,
        shipping_lines,
        discount_codes,

        ---------- timestamps
        cast(created_at as {{ type_timestamptz() }}) as created_at,
        cast(cancelled_at as {{ type_timestamptz() }}) as cancelled_at,
        cast(updated_at as {{ type_timestamptz() }}) as updated_at,
        cast(_airbyte_extracted_at as {{ type_timestamptz() }}) as extracted_at

    from latest

)

select * from renamed
