-- Braze users keyed by external_id = person_id: attributes, the current flow and the holdout
-- flag (sent as an attribute so canvases can exclude holdout members themselves).

with

customers as (

    select * from {{ ref('dim_customers') }}

),

memberships as (

    select * from {{ ref('audience_memberships') }}

),

final as (

    select
        customers.person_id,
        customers.email,
        customers.first_name,
        customers.last_name,
        customers.country,
        customers.orders_count,
        customers.net_revenue,
        customers.last_order_at,
        memberships.audience as current_audience,
        memberships.channel as current_channel,
        coalesce(memberships.is_holdout, false) as is_holdout,
        coalesce(customers.is_email_consented, false) as is_email_consented,
        coalesce(customers.is_push_consented, false) as is_push_consented
    from customers
    left join memberships
        on customers.person_id = memberships.person_id

)

select * from final
