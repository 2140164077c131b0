{#- Raw loader for Spark (called by ingest/raw_loader.py through `dbt run-operation`):
    (re)creates raw.<table> from <raw_dir>/<table>.parquet for every contract table. The
    table format is the platform's default (Parquet on open-source Spark, Delta on
    Databricks). -#}
{% macro load_raw_tables(raw_dir, tables) %}
    {%- if target.type != 'spark' -%}
        {{ exceptions.raise_compiler_error(
            'load_raw_tables is the Spark loader; use rw-ingest load-raw for ' ~ target.type) }}
    {%- endif -%}
    {% do run_query('create schema if not exists raw') %}
    {%- for table in tables %}
        {% do run_query('drop table if exists raw.' ~ table) %}
        {% do run_query('create table raw.' ~ table ~ ' as select * from parquet.`'
            ~ raw_dir ~ '/' ~ table ~ '.parquet`') %}
        {{ log('raw.' ~ table ~ ' loaded from ' ~ raw_dir ~ '/' ~ table ~ '.parquet', info=true) }}
    {%- endfor %}
{% endmacro %}
