-- Customers for any Standard Webhooks receiver (sync webhook_customers): every person with
-- an email and a small purchase summary.

with

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        person_id,
        email,
        first_name,
        orders_count,
        net_revenue
    from customers
    where email is not null

)

select * from final
