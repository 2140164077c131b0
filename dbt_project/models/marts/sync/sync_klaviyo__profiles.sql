-- Klaviyo profile attributes: one row per person with an email address. Only what the
-- destination needs: contact, purchase summary, RFM segment, lifecycle stage and the ML
-- scores (ml.customer_scores: churn risk, 12-month LTV, expected next-order date; null
-- before the first scoring run, never cleared by a rebuild). Consent travels along so the
-- sync can enforce it again.

with

customers as (

    select * from {{ ref('dim_customers') }}

),

rfm as (

    select * from {{ ref('customer_rfm') }}

),

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

scores as (

    -- always present (dbt creates it empty); null scores only before the first scoring run
    select
        person_id,
        churn_probability,
        churn_risk_band,
        predicted_ltv_12m,
        expected_next_order_date
    from {{ source('ml', 'customer_scores') }}

),

final as (

    select
        customers.person_id,
        customers.email,
        customers.phone as phone_number,
        customers.first_name,
        customers.last_name,
        customers.country,
        customers.orders_count,
        customers.net_revenue,
        customers.last_order_at,
        customers.favourite_category,
        rfm.rfm_segment,
        lifecycle.lifecycle_stage,
        cast(scores.churn_probability as {{ dbt.type_float() }}) as churn_probability,
        scores.churn_risk_band,
        cast(scores.predicted_ltv_12m as {{ dbt.type_float() }}) as predicted_ltv_12m,
        cast(scores.expected_next_order_date as date) as expected_next_order_date,
        coalesce(customers.is_email_consented, false) as is_email_consented
    from customers
    left join rfm
        on customers.person_id = rfm.person_id
    left join lifecycle
        on customers.person_id = lifecycle.person_id
    left join scores
        on customers.person_id = scores.person_id
    where customers.email is not null

)

select * from final
