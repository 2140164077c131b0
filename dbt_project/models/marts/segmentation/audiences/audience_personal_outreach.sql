-- Personal outreach: the very top customers by trailing-12-month net revenue
-- (personal_outreach_top_share). A person contacts them; they get no automated flow.

with

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

final as (

    select
        lifecycle.person_id,
        'personal_outreach' as audience,
        as_of.as_of_at as entered_at,
        'top_customer_by_12m_revenue' as entry_reason,
        lifecycle.lifecycle_stage,
        lifecycle.net_revenue_12m,
        lifecycle.orders_12m,
        lifecycle.days_since_last_order,
        lifecycle.last_order_category,
        customers.email,
        customers.phone,
        customers.first_name,
        customers.last_name
    from lifecycle
    cross join as_of
    inner join customers
        on lifecycle.person_id = customers.person_id
    where lifecycle.is_personal_outreach

)

select * from final
