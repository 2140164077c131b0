{#- dbt.dateadd on Spark. dbt-spark's own form (1.11) goes through to_unix_timestamp, which
    drops the fraction of a second (a cart added at 15:09:37.533 + 72 h became 15:09:37 on
    Spark and 15:09:37.533 elsewhere) and raises on a null input; Spark's timestampadd keeps
    microseconds and returns null for null, as dateadd does on DuckDB and PostgreSQL. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, cast({{ interval }} as bigint), {{ from_date_or_timestamp }})
{%- endmacro %}
