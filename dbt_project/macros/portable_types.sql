{#- Column types in YAML (contracts, data_type) are written once, in DuckDB's names
    (varchar, double, timestamptz, ...). These overrides translate them where another
    engine spells a type differently, so one `_*__models.yml` serves every engine: dbt
    casts contract columns through `dbt.cast` (the empty-schema check) and builds the
    PostgreSQL DDL through get_table_columns_and_constraints. -#}
{% macro portable_data_type(data_type) -%}
    {{ return(adapter.dispatch('portable_data_type')(data_type)) }}
{%- endmacro %}

{% macro default__portable_data_type(data_type) -%}
    {{ return(data_type) }}
{%- endmacro %}

{% macro postgres__portable_data_type(data_type) -%}
    {%- set names = {'double': 'double precision', 'varchar': 'text', 'ubigint': 'numeric(20, 0)'} -%}
    {{ return(names.get(data_type | trim | lower, data_type)) }}
{%- endmacro %}

{% macro spark__portable_data_type(data_type) -%}
    {%- set names = {'varchar': 'string', 'text': 'string', 'timestamptz': 'timestamp',
        'timestamp with time zone': 'timestamp', 'double precision': 'double',
        'ubigint': 'decimal(20, 0)'} -%}
    {{ return(names.get(data_type | trim | lower, data_type)) }}
{%- endmacro %}


{#- One string type on PostgreSQL: text, as string literals, concatenations and the raw
    tables have it. With a mix of text and varchar, an incremental model's new rows and its
    table "change type" between runs and on_schema_change='fail' stops the build. -#}
{% macro postgres__type_string() -%}text{%- endmacro %}


{% macro postgres__cast(field, type) -%}
    cast({{ field }} as {{ portable_data_type(type) }})
{%- endmacro %}

{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ portable_data_type(type) }})
{%- endmacro %}


{% macro postgres__get_table_columns_and_constraints() -%}
    {#- dbt's table_columns_and_constraints() with the column types translated -#}
    {%- set columns = {} -%}
    {%- for name, column in model['columns'].items() -%}
        {%- set translated = dict(column) -%}
        {%- if column.get('data_type') -%}
            {%- do translated.update({'data_type': portable_data_type(column['data_type'])}) -%}
        {%- endif -%}
        {%- do columns.update({name: translated}) -%}
    {%- endfor -%}
    {%- set raw_column_constraints = adapter.render_raw_columns_constraints(raw_columns=columns) -%}
    {%- set raw_model_constraints = adapter.render_raw_model_constraints(raw_constraints=model['constraints']) -%}
    (
    {% for c in raw_column_constraints -%}
      {{ c }}{{ "," if not loop.last or raw_model_constraints }}
    {% endfor %}
    {% for c in raw_model_constraints -%}
        {{ c }}{{ "," if not loop.last }}
    {% endfor -%}
    )
{%- endmacro %}
