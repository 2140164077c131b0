{% macro segmentation_ml_scores() -%}
    {#- The one read of the ML scores by the segmentation (a select for a CTE): churn
        probability, 30-day purchase propensity and predicted 12-month LTV per person, from
        the always-present ml.customer_scores (macros/ml_scores.sql). Before the first
        scoring run it is empty: every rule then reads "no score" and falls back to its
        rule of thumb. -#}
    select
        person_id,
        cast(churn_probability as {{ type_double() }}) as churn_probability,
        cast(propensity_30d as {{ type_double() }}) as propensity_30d,
        cast(predicted_ltv_12m as {{ type_double() }}) as predicted_ltv_12m
    from {{ source('ml', 'customer_scores') }}
{%- endmacro %}
