{% macro segmentation_ml_scores() -%}
    {#- The one read of the ML scores by the segmentation (a select for a CTE): churn
        probability, 30-day purchase propensity and predicted 12-month LTV per person. Until
        var segmentation_use_ml_scores is on (after `rw-ml score`), an empty select with the
        same columns, so every rule reads "no score" and falls back to its rule of thumb. -#}
    {%- if var('segmentation_use_ml_scores') %}
    select
        person_id,
        cast(churn_probability as {{ type_double() }}) as churn_probability,
        cast(propensity_30d as {{ type_double() }}) as propensity_30d,
        cast(predicted_ltv_12m as {{ type_double() }}) as predicted_ltv_12m
    from {{ source('ml', 'customer_scores') }}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as person_id,
        cast(null as {{ type_double() }}) as churn_probability,
        cast(null as {{ type_double() }}) as propensity_30d,
        cast(null as {{ type_double() }}) as predicted_ltv_12m
    from {{ ref('segmentation_as_of') }}
    where 1 = 0
    {%- endif %}
{%- endmacro %}
