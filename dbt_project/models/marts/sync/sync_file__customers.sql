-- The local JSONL outbox (sync file_customers): every person with an email and their
-- purchase summary. The outbox is for demos and debugging, so it carries no consent rule.

with

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        person_id,
        email,
        first_name,
        last_name,
        country,
        orders_count,
        net_revenue,
        last_order_at
    from customers
    where email is not null

)

select * from final
