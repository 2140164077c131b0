-- Outcomes in the windows after each cutoff, one row per ml_customer_features row.
-- Churn and propensity flags, net revenue and order count in the next 365 days, days to
-- the next paid order. A label is only trustworthy once its window has fully passed: the
-- is_label_complete_<n>d flags say so (the window ends on or before data_end_date), and
-- training and backtests use a label only where its flag is true.

{%- set ltv_days = var('ml_ltv_horizon_days', 365) %}
{%- set churn_days = var('ml_churn_horizon_days', 90) %}

with

features as (

    select
        person_id,
        cutoff_date
    from {{ ref('ml_customer_features') }}

),

scoring_cutoff as (

    select * from {{ ref('ml_cutoffs') }}
    where is_scoring_cutoff

),

cutoffs as (

    -- every cutoff with features: the kept training cutoffs of the last full rebuild need
    -- not be in today's schedule (ml_customer_features is incremental by cutoff)
    select
        feature_cutoffs.cutoff_date,
        {{ dbt.dateadd(
            'day',
            dbt.datediff('scoring_cutoff.cutoff_date', 'feature_cutoffs.cutoff_date', 'day'),
            'scoring_cutoff.cutoff_at',
        ) }} as cutoff_at,
        scoring_cutoff.data_end_date,
        {{ dbt.datediff('feature_cutoffs.cutoff_date', 'scoring_cutoff.data_end_date', 'day') }}
            as days_observed_after
    from (select distinct features.cutoff_date from features) as feature_cutoffs
    cross join scoring_cutoff

),

orders as (

    select * from {{ ref('fct_orders') }}
    where is_paid

),

future_orders as (

    select
        orders.person_id,
        cutoffs.cutoff_date,
        cast(orders.net_revenue as {{ type_double() }}) as net_revenue,
        ({{ epoch_seconds('orders.ordered_at') }} - {{ epoch_seconds('cutoffs.cutoff_at') }}) / 86400.0 as days_after
    from orders
    inner join cutoffs
        on orders.ordered_at >= cutoffs.cutoff_at
        and orders.ordered_at < {{ add_days('cutoffs.cutoff_at', ltv_days) }}

),

outcomes as (

    select
        person_id,
        cutoff_date,
        count(*) filter (where days_after < 7) as orders_7d,
        count(*) filter (where days_after < 30) as orders_30d,
        count(*) filter (where days_after < {{ churn_days }}) as orders_churn_window,
        count(*) as orders_ltv_window,
        sum(net_revenue) as net_revenue_ltv_window,
        min(days_after) as days_to_next_order
    from future_orders
    group by person_id, cutoff_date

),

final as (

    select
        features.person_id,
        features.cutoff_date,

        ---------- labels
        coalesce(outcomes.orders_churn_window, 0) = 0 as is_churned_next_90d,
        coalesce(outcomes.orders_7d, 0) > 0 as has_order_next_7d,
        coalesce(outcomes.orders_30d, 0) > 0 as has_order_next_30d,
        cast(greatest(coalesce(outcomes.net_revenue_ltv_window, 0), 0) as {{ type_double() }})
            as net_revenue_next_365d,
        cast(coalesce(outcomes.orders_ltv_window, 0) as integer) as orders_next_365d,
        cast(outcomes.days_to_next_order as {{ type_double() }}) as days_to_next_order,
        cast(coalesce(outcomes.days_to_next_order, {{ ltv_days }}) as {{ type_double() }})
            as days_to_next_order_capped,

        ---------- which windows have fully passed
        cutoffs.data_end_date,
        cutoffs.days_observed_after >= 7 as is_label_complete_7d,
        cutoffs.days_observed_after >= 30 as is_label_complete_30d,
        cutoffs.days_observed_after >= {{ churn_days }} as is_label_complete_90d,
        cutoffs.days_observed_after >= {{ ltv_days }} as is_label_complete_365d

    from features
    inner join cutoffs
        on features.cutoff_date = cutoffs.cutoff_date
    left join outcomes
        on features.person_id = outcomes.person_id
        and features.cutoff_date = outcomes.cutoff_date

)

select * from final
