-- Klaviyo profile attributes: one row per person with an email address. Only what the
-- destination needs; consent travels along so the sync can enforce it again.

with

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        person_id,
        email,
        phone as phone_number,
        first_name,
        last_name,
        country,
        orders_count,
        net_revenue,
        last_order_at,
        favourite_category,
        coalesce(is_email_consented, false) as is_email_consented
    from customers
    where email is not null

)

select * from final
