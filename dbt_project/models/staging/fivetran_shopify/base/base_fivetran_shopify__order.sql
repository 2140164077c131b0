with

source as (

    select * from {{ source('fivetran_shopify', 'order') }}

),

renamed as (

    select
        ---------- ids
        cast(id as {{ dbt.type_string() }}) as order_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        name as order_name,

        ---------- buyer
        email,
        -- the connector's order table has no phone column: the addresses' phones are used
        cast(null as {{ dbt.type_string() }}) as phone,
        billing_address_phone,
        shipping_address_phone,
        billing_address_first_name,
        billing_address_last_name,
        billing_address_name,
        billing_address_country_code,
        buyer_accepts_marketing as has_buyer_accepted_marketing,

        ---------- status
        lower(financial_status) as financial_status,
        coalesce(_fivetran_deleted, false) as is_deleted,

        ---------- amounts
        currency,
        coalesce(taxes_included, false) as has_taxes_included,
        {{ money('subtotal_price') }} as subtotal_price,
        {{ money('total_discounts') }} as total_discounts,
        {{ money('total_tax') }} as total_tax,
        {{ money('total_price') }} as total_price,

        ---------- timestamps
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('cancelled_at') }} as cancelled_at,
        {{ utc_timestamp('updated_at') }} as updated_at,
        {{ utc_timestamp('_fivetran_synced') }} as synced_at

    from source

)

select * from renamed
