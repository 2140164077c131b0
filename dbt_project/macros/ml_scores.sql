{#- ml.customer_scores: the ML scores are an always-present relation. dbt creates the table
    empty (on-run-start, `create table if not exists`), `rw-ml score` replaces its rows, and
    no build ever drops or clears it (a --full-refresh included): audiences and sync models
    read it unconditionally, with null scores only before the first scoring run. The column
    list is the contract between dbt and ml/score.py (checked by tests/ml). -#}

{% macro ml_scores_columns() -%}
    {%- set string = dbt.type_string() -%}
    {%- set double = type_double() -%}
    {{ return([
        ('person_id', string),
        ('as_of_date', 'date'),
        ('churn_probability', double),
        ('churn_risk_band', string),
        ('propensity_7d', double),
        ('propensity_30d', double),
        ('predicted_ltv_12m', double),
        ('expected_next_order_date', 'date'),
        ('expected_days_to_next_order', double),
        ('churn_model_version', string),
        ('propensity_7d_model_version', string),
        ('propensity_30d_model_version', string),
        ('ltv_model_version', string),
        ('next_order_model_version', string),
        ('scored_at', type_timestamptz()),
        ('score_run_id', string),
    ]) }}
{%- endmacro %}

{#- Runs as an on-run-start hook (and as `dbt run-operation create_ml_scores_table`). -#}
{% macro create_ml_scores_table() -%}
    {%- if execute -%}
        {%- set relation = api.Relation.create(
            database=target.database if target.type != 'spark' else none,
            schema='ml',
            identifier='customer_scores',
            type='table',
        ) -%}
        {%- do adapter.create_schema(relation) -%}
        {#- its own transaction: hooks and run-operation run outside one -#}
        {%- call statement('create_ml_scores_table', auto_begin=True) -%}
            create table if not exists {{ relation }} (
                {%- for name, data_type in ml_scores_columns() %}
                {{ name }} {{ data_type }}{{ "," if not loop.last }}
                {%- endfor %}
            ){{ ' using parquet' if target.type == 'spark' }}
        {%- endcall -%}
        {%- do adapter.commit() -%}
    {%- endif -%}
{%- endmacro %}
