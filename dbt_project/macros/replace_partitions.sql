{#- Incremental models that replace whole slices of their rows on every build (a day of
    events, a feature cutoff), and row deletes in hooks, on every engine.

    DuckDB and PostgreSQL replace a slice by key (delete+insert). Open-source Spark writes
    Parquet tables, which have no DELETE (nor MERGE): there a slice is a partition, replaced
    by a dynamic insert_overwrite of the partitions the build writes. Either way a model's
    incremental select must produce its slices whole. -#}

{% macro replace_partitions_config(partition_column) %}
    {#- Config of an incremental model that replaces the slices `partition_column` holds:
        `config(materialized='incremental', **replace_partitions_config('cutoff_date'))`. -#}
    {{ return(adapter.dispatch('replace_partitions_config')(partition_column)) }}
{% endmacro %}
{% macro default__replace_partitions_config(partition_column) %}
    {{ return({'incremental_strategy': 'delete+insert', 'unique_key': partition_column}) }}
{% endmacro %}
{#- Dynamic partition overwrite; Delta and Iceberg tables support it as well (Databricks SQL
    warehouses do not: set the model's incremental_strategy to merge there). -#}
{% macro spark__replace_partitions_config(partition_column) %}
    {%- set config_ = {'incremental_strategy': 'insert_overwrite'} -%}
    {%- do config_.update(spark_partitions_config(partition_column)) -%}
    {{ return(config_) }}
{% endmacro %}


{% macro spark_partitions_config(partition_column) %}
    {#- Partitioned by `partition_column` on Spark (what delete_rows needs there), no config
        elsewhere (dbt-duckdb warns on partition_by outside DuckLake). -#}
    {{ return(adapter.dispatch('spark_partitions_config')(partition_column)) }}
{% endmacro %}
{% macro default__spark_partitions_config(partition_column) %}
    {{ return({}) }}
{% endmacro %}
{% macro spark__spark_partitions_config(partition_column) %}
    {{ return({'partition_by': [partition_column]}) }}
{% endmacro %}


{% macro delete_rows(relation, condition, partition_column) %}
    {#- `delete from relation where condition`, as a hook: on Spark with Parquet the table
        must be partitioned by `partition_column` (replace_partitions_config). -#}
    {{ return(adapter.dispatch('delete_rows')(relation, condition, partition_column)) }}
{% endmacro %}
{% macro default__delete_rows(relation, condition, partition_column) -%}
    delete from {{ relation }} where {{ condition }}
{%- endmacro %}
{#- Parquet on Spark: drop the partitions that lose every row and rewrite those that lose
    some (a dynamic overwrite of a partition by its rows less the deleted ones: Spark reads
    them before it replaces the files). Only partitions holding matching rows are touched,
    so a delete that matches nothing costs one scan. Runs its statements and returns ''. -#}
{% macro spark__delete_rows(relation, condition, partition_column) -%}
    {%- if config.get('file_format', 'parquet') in ['delta', 'iceberg', 'hudi'] -%}
        delete from {{ relation }} where {{ condition }}
    {%- elif execute -%}
        {%- set per_slice = 'select ' ~ partition_column ~ ', count(*) from ' ~ relation
            ~ ' where {} group by ' ~ partition_column -%}
        {%- set deleted = run_query(per_slice.format(condition)) -%}
        {%- if deleted.rows | length > 0 -%}
            {%- set slices = [] -%}
            {%- for row in deleted.rows -%}
                {%- do slices.append(spark_partition_literal(row[0])) -%}
            {%- endfor -%}
            {%- set in_slices = partition_column ~ ' in (' ~ slices | join(', ') ~ ')' -%}
            {%- set held = {} -%}
            {%- for row in run_query(per_slice.format(in_slices)).rows -%}
                {%- do held.update({spark_partition_literal(row[0]): row[1]}) -%}
            {%- endfor -%}
            {%- set emptied, thinned = [], [] -%}
            {%- for row in deleted.rows -%}
                {%- do (emptied if held[slices[loop.index0]] == row[1] else thinned)
                    .append(slices[loop.index0]) -%}
            {%- endfor -%}
            {%- for slice in emptied -%}
                {%- do run_query('alter table ' ~ relation ~ ' drop if exists partition ('
                    ~ partition_column ~ ' = ' ~ slice ~ ')') -%}
            {%- endfor -%}
            {%- if thinned -%}
                {%- set in_thinned = partition_column ~ ' in (' ~ thinned | join(', ') ~ ')' -%}
                {%- do run_query('set spark.sql.sources.partitionOverwriteMode = DYNAMIC') -%}
                {%- do run_query(
                    'insert overwrite table ' ~ relation ~ ' partition (' ~ partition_column ~ ')'
                    ~ ' select * from ' ~ relation ~ ' where ' ~ in_thinned
                    ~ ' except all select * from ' ~ relation
                    ~ ' where ' ~ in_thinned ~ ' and (' ~ condition ~ ')') -%}
            {%- endif -%}
            {%- do log('delete_rows ' ~ relation ~ ': dropped ' ~ emptied | length
                ~ ' and rewrote ' ~ thinned | length ~ ' partition(s)', info=true) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{% macro spark_partition_literal(value) -%}
    {#- A partition value (date, string or number from a query result) as a Spark literal. -#}
    {%- if value is none -%}
        {{ exceptions.raise_compiler_error('delete_rows: null partition value') }}
    {%- elif value is number -%}
        {{ value }}
    {%- elif value is string -%}
        '{{ value | replace("\\", "\\\\") | replace("'", "\\'") }}'
    {%- elif value.hour is not defined -%}
        date'{{ value.isoformat() }}'
    {%- else -%}
        {{ exceptions.raise_compiler_error('delete_rows: partition value ' ~ value ~ ' is not a date') }}
    {%- endif -%}
{%- endmacro %}
