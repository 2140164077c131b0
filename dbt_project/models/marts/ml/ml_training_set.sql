-- The training set: features stacked over every cutoff with at least one complete label
-- window, joined with their labels. Read by `rw-ml train` / `rw-ml backtest`; scoring
-- reads ml_customer_features at the scoring cutoff instead.

with

features as (

    select * from {{ ref('ml_customer_features') }}

),

labels as (

    select * from {{ ref('ml_labels') }}

),

final as (

    select
        features.*,
        -- labels by name: a label must never shadow (or be renamed next to) a feature
        labels.is_churned_next_90d,
        labels.has_order_next_7d,
        labels.has_order_next_30d,
        labels.net_revenue_next_365d,
        labels.orders_next_365d,
        labels.days_to_next_order,
        labels.days_to_next_order_capped,
        labels.data_end_date,
        labels.is_label_complete_7d,
        labels.is_label_complete_30d,
        labels.is_label_complete_90d,
        labels.is_label_complete_365d
    from features
    inner join labels
        on features.person_id = labels.person_id
        and features.cutoff_date = labels.cutoff_date
    where labels.is_label_complete_7d

)

select * from final
