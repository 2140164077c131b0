-- HubSpot contacts: purchase attributes plus the person's current flow (if any, and never
-- for holdout members), keyed by email (HubSpot's idProperty).

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
        -- a holdout member's audience never leaves the warehouse: HubSpot workflows keyed
        -- on it would treat the control group
        case when memberships.is_holdout then null else memberships.audience end
            as current_audience,
        coalesce(memberships.is_holdout, false) as is_holdout,
        coalesce(customers.is_email_consented, false) as is_email_consented
    from customers
    left join memberships
        on customers.person_id = memberships.person_id
    where customers.email is not null

)

select * from final
