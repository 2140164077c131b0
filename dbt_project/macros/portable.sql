{#- Engine-portable SQL pieces (DuckDB, PostgreSQL, Spark) that dbt's cross-database
    macros do not cover. Each has a DuckDB form (the fast, tested default) and the others
    behind adapter.dispatch; models call these instead of an engine's own function. -#}

{% macro epoch_seconds(timestamp_expression) -%}
    {#- Seconds since 1970-01-01 UTC (fractional) of a timestamp. -#}
    {{ return(adapter.dispatch('epoch_seconds')(timestamp_expression)) }}
{%- endmacro %}
{% macro default__epoch_seconds(ts) -%}extract(epoch from {{ ts }}){%- endmacro %}
{% macro duckdb__epoch_seconds(ts) -%}epoch({{ ts }}){%- endmacro %}
{% macro spark__epoch_seconds(ts) -%}(unix_micros({{ ts }}) / 1000000.0){%- endmacro %}


{% macro epoch_day(timestamp_expression) -%}
    {#- Whole days since 1970-01-01 UTC (a day number: same-day timestamps share it). -#}
    cast(floor({{ epoch_seconds(timestamp_expression) }} / 86400) as {{ dbt.type_bigint() }})
{%- endmacro %}


{% macro utc_date(timestamp_expression) -%}
    {#- The UTC calendar date of a timestamp with time zone. -#}
    {{ return(adapter.dispatch('utc_date')(timestamp_expression)) }}
{%- endmacro %}
{% macro default__utc_date(ts) -%}cast(({{ ts }}) at time zone 'UTC' as date){%- endmacro %}
{% macro duckdb__utc_date(ts) -%}cast(timezone('UTC', {{ ts }}) as date){%- endmacro %}
{#- Spark's timestamps are instants shown in the session time zone (UTC in profiles.yml) -#}
{% macro spark__utc_date(ts) -%}to_date({{ ts }}){%- endmacro %}


{% macro utc_midnight(date_expression) -%}
    {#- 00:00 UTC of a date, as a timestamp with time zone. -#}
    {{ return(adapter.dispatch('utc_midnight')(date_expression)) }}
{%- endmacro %}
{% macro default__utc_midnight(d) -%}(cast({{ d }} as timestamp) at time zone 'UTC'){%- endmacro %}
{% macro duckdb__utc_midnight(d) -%}timezone('UTC', cast({{ d }} as timestamp)){%- endmacro %}
{% macro spark__utc_midnight(d) -%}cast({{ d }} as timestamp){%- endmacro %}


{% macro add_days_to_date(date_expression, days) -%}
    {#- A date plus a whole number of days, still a date (dbt.dateadd returns a timestamp). -#}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}


{% macro median(expression) -%}
    {#- Interpolated median (percentile_cont 0.5) of a numeric expression. -#}
    {{ return(adapter.dispatch('median')(expression)) }}
{%- endmacro %}
{% macro default__median(x) -%}percentile_cont(0.5) within group (order by {{ x }}){%- endmacro %}
{% macro duckdb__median(x) -%}median({{ x }}){%- endmacro %}
{% macro spark__median(x) -%}percentile({{ x }}, 0.5){%- endmacro %}


{% macro arg_max(value, order_by, where=none) -%}
    {#- `value` of the row with the largest `order_by` (a list of expressions, compared in
        order) among rows where `where` holds (all rows if none); null when none qualify. -#}
    {{ return(adapter.dispatch('arg_max')(value, order_by, where, 'desc')) }}
{%- endmacro %}
{% macro arg_min(value, order_by, where=none) -%}
    {{ return(adapter.dispatch('arg_max')(value, order_by, where, 'asc')) }}
{%- endmacro %}
{% macro default__arg_max(value, order_by, where, direction) -%}
    (array_agg({{ value }} order by
        {%- for o in order_by %} {{ o }} {{ direction }} nulls last{{ ',' if not loop.last }}{% endfor %})
        filter (where {{ where if where else 'true' }} {%- for o in order_by %} and {{ o }} is not null{% endfor %}))[1]
{%- endmacro %}
{% macro duckdb__arg_max(value, order_by, where, direction) -%}
    {%- set key = order_by[0] if order_by | length == 1 else '(' ~ order_by | join(', ') ~ ')' -%}
    {{ 'arg_max' if direction == 'desc' else 'arg_min' }}({{ value }}, {{ key }})
    {%- if where %} filter (where {{ where }}){% endif %}
{%- endmacro %}
{% macro spark__arg_max(value, order_by, where, direction) -%}
    {%- set key = order_by[0] if order_by | length == 1 else 'struct(' ~ order_by | join(', ') ~ ')' -%}
    {{ 'max_by' if direction == 'desc' else 'min_by' }}({{ value }}, {{ key }})
    {%- if where %} filter (where {{ where }}){% endif %}
{%- endmacro %}


{% macro integer_series(count, column='step') -%}
    {#- A relation (parenthesised select) of the integers 0 .. count-1 in `column`; count is
        a compile-time number (small: it is written out). -#}
    (
    {%- for i in range(count) %}
        select {{ i }} as {{ column }}{{ ' union all' if not loop.last }}
    {%- endfor %}
    )
{%- endmacro %}


{% macro date_values(dates, column='value_date') -%}
    {#- A relation (parenthesised select) of literal dates ('YYYY-MM-DD' strings). -#}
    (
    {%- for d in dates %}
        select cast('{{ d }}' as date) as {{ column }}{{ ' union all' if not loop.last }}
    {%- endfor %}
    )
{%- endmacro %}
