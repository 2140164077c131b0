{#- Comma-separated, sorted, de-duplicated values of `column` per group (nulls skipped).
    dbt.listagg with an ORDER BY is portable but slow on DuckDB with many small groups
    (a sort per group): there, sort a list instead. -#}
{% macro sorted_string_agg(column, delimiter="','") -%}
    {{ return(adapter.dispatch('sorted_string_agg')(column, delimiter)) }}
{%- endmacro %}

{% macro default__sorted_string_agg(column, delimiter) -%}
    {{ dbt.listagg('distinct ' ~ column, delimiter, 'order by ' ~ column) }}
{%- endmacro %}

{% macro duckdb__sorted_string_agg(column, delimiter) -%}
    nullif(array_to_string(list_sort(list(distinct {{ column }})
        filter (where {{ column }} is not null)), {{ delimiter }}), '')
{%- endmacro %}

{#- Spark's listagg has no ORDER BY: sort the distinct set (collect_set skips nulls) -#}
{% macro spark__sorted_string_agg(column, delimiter) -%}
    nullif(array_join(array_sort(collect_set({{ column }})), {{ delimiter }}), '')
{%- endmacro %}
