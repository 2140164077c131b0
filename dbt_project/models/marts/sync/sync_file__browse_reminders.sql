-- Browse reminders for the local outbox (sync file_browse_reminders): one row per reminder -
-- a person and the browse entry (the product viewed last) - so the diff-based sync sends each
-- one exactly once, whichever build (daily or hourly) first sees it. Holdout members and
-- people without email consent stay in the model and are excluded by the sync.

with

memberships as (

    select * from {{ ref('audience_memberships') }}
    where audience = 'browse_abandonment'

),

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        memberships.person_id || '|'
        || cast(memberships.entered_at as {{ dbt.type_string() }}) as reminder_id,
        memberships.person_id,
        memberships.email,
        memberships.first_name,
        memberships.entered_at,
        memberships.product_id,
        memberships.product_name,
        memberships.category,
        memberships.offer_type,
        memberships.is_holdout,
        coalesce(customers.is_email_consented, false) as is_email_consented
    from memberships
    inner join customers
        on memberships.person_id = customers.person_id
    where memberships.email is not null

)

select * from final
