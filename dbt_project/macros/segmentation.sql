{#- Helpers of models/marts/segmentation (documented in macros/_segmentation__macros.yml). -#}

{% macro hash_bucket(expression, buckets=10000) -%}
    {#- A deterministic bucket 0 .. buckets-1: the first 32 bits of md5(expression) read as an
        unsigned integer, modulo buckets. Identical on every engine (tested), so holdout
        assignments survive a move between engines. -#}
    {{ return(adapter.dispatch('hash_bucket')(expression, buckets)) }}
{%- endmacro %}

{% macro default__hash_bucket(expression, buckets) -%}
    {#- PostgreSQL: 8 hex digits, zero-padded to 64 bits, so the bigint is never negative -#}
    (cast(cast('x00000000' || substr(md5({{ expression }}), 1, 8) as bit(64)) as bigint) % {{ buckets }})
{%- endmacro %}

{% macro duckdb__hash_bucket(expression, buckets) -%}
    (cast(('0x' || substr(md5({{ expression }}), 1, 8)) as bigint) % {{ buckets }})
{%- endmacro %}

{% macro spark__hash_bucket(expression, buckets) -%}
    (cast(conv(substr(md5({{ expression }}), 1, 8), 16, 10) as bigint) % {{ buckets }})
{%- endmacro %}


{% macro add_days(timestamp_expression, days_expression) -%}
    {#- timestamp + a (possibly fractional or column) number of days. -#}
    {{ return(adapter.dispatch('add_days')(timestamp_expression, days_expression)) }}
{%- endmacro %}

{% macro default__add_days(timestamp_expression, days_expression) -%}
    ({{ timestamp_expression }} + ({{ days_expression }}) * interval '1 day')
{%- endmacro %}

{% macro spark__add_days(timestamp_expression, days_expression) -%}
    timestamp_micros(unix_micros({{ timestamp_expression }}) + cast(round(({{ days_expression }}) * 86400000000) as bigint))
{%- endmacro %}

{% macro duckdb__add_days(timestamp_expression, days_expression) -%}
    ({{ timestamp_expression }} + to_microseconds(cast(round(({{ days_expression }}) * 86400000000) as bigint)))
{%- endmacro %}


{% macro days_between(start_expression, end_expression) -%}
    {#- Fractional days from start to end (timestamps), to the microsecond on every engine
        (dbt.datediff in seconds counts whole-second boundaries on some engines and
        fractions on others). -#}
    (({{ epoch_seconds(end_expression) }} - {{ epoch_seconds(start_expression) }}) / 86400.0)
{%- endmacro %}


{% macro sql_list(values) -%}
    {#- ('a', 'b') from a list var. -#}
    ({%- for value in values -%}'{{ value }}'{{ ", " if not loop.last }}{%- endfor -%})
{%- endmacro %}


{% macro type_double() -%}
    {#- 64-bit float (dbt.type_float() is a 32-bit FLOAT on DuckDB). -#}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double precision{%- endmacro %}

{% macro duckdb__type_double() -%}double{%- endmacro %}

{% macro spark__type_double() -%}double{%- endmacro %}


{% macro type_timestamptz() -%}
    {{ return(adapter.dispatch('type_timestamptz')()) }}
{%- endmacro %}

{% macro default__type_timestamptz() -%}timestamp with time zone{%- endmacro %}

{% macro duckdb__type_timestamptz() -%}timestamptz{%- endmacro %}

{#- Spark's timestamp is an instant (shown in the session time zone, UTC in profiles.yml) -#}
{% macro spark__type_timestamptz() -%}timestamp{%- endmacro %}
