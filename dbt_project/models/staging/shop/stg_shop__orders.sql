with

source as (

    select * from {{ shop_relation('orders') }}

),

renamed as (

    select
        ---------- ids
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        nullif(trim(customer_id), '') as customer_id,

        ---------- identifiers (normalised for stitching)
        {{ normalize_email('email') }} as email,
        {{ normalize_phone('phone') }} as phone,
        -- as written, for reporting values that normalisation nulled
        nullif(trim(email), '') as email_as_written,
        nullif(trim(phone), '') as phone_as_written,
        nullif(trim(anonymous_id), '') as anonymous_id,

        ---------- status
        lower(status) as status,
        nullif(trim(customer_id), '') is null as is_guest_checkout,

        ---------- amounts
        upper(currency) as currency,
        subtotal,
        coalesce(discount, 0) as discount,
        coalesce(shipping, 0) as shipping,
        coalesce(tax, 0) as tax,
        total,
        nullif(trim(discount_code), '') as discount_code,

        ---------- buyer as written on the order (a guest has no account profile)
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        upper(nullif(trim(country), '')) as country,

        ---------- timestamps
        ordered_at

    from source

)

select * from renamed
