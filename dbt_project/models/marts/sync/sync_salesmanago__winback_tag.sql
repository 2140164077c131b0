-- SALESmanago WINBACK tag (sync salesmanago_winback_tag): the win-back flow's members with
-- the holdout flag and the email consent from dim_customers, so the sync enforces both again
-- at the boundary.

with

memberships as (

    select * from {{ ref('audience_memberships') }}
    where audience = 'winback'

),

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        memberships.person_id,
        memberships.email,
        memberships.first_name,
        memberships.winback_reason,
        memberships.is_holdout,
        coalesce(customers.is_email_consented, false) as is_email_consented
    from memberships
    inner join customers
        on memberships.person_id = customers.person_id
    where memberships.email is not null

)

select * from final
