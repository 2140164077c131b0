{#- Snapshots on Spark without Delta Lake (open-source Spark in local mode; tables are
    Parquet). dbt-spark's snapshot materialization requires Delta, Iceberg or Hudi for its
    MERGE; this copy of it (dbt-spark 1.11) keeps the MERGE for those formats and, for
    Parquet, rewrites the snapshot instead: the current table with closed validity where the
    staging rows say so, plus the new versions, written to a work table and then
    overwritten into the snapshot (Spark cannot overwrite a table it is reading). On
    Databricks (Delta by default) dbt-spark's own path runs unchanged. -#}

{% macro parquet_snapshot_rewrite_sql(target, staging) -%}
    {%- set columns = config.get("snapshot_table_column_names") or get_snapshot_table_column_names() -%}
    {%- set target_columns = adapter.get_columns_in_relation(target) | map(attribute='name') | list -%}
    {%- set work = target.incorporate(path={"identifier": target.identifier ~ '__dbt_rewrite'}) -%}
    {%- set valid_to = columns.dbt_valid_to -%}
    {% call statement('parquet_snapshot_work_table') %}
        drop table if exists {{ work }}
    {% endcall %}
    {% call statement('parquet_snapshot_work_table') %}
        create table {{ work }} as
        select
            {%- for column in target_columns %}
            {%- if column == valid_to %}
            coalesce(closing.{{ valid_to }}, current_rows.{{ valid_to }}) as {{ valid_to }}
            {%- else %}
            current_rows.`{{ column }}`
            {%- endif %}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ target }} as current_rows
        left join (
            select {{ columns.dbt_scd_id }}, {{ valid_to }} from {{ staging }}
            where dbt_change_type in ('update', 'delete')
        ) as closing
            on current_rows.{{ columns.dbt_scd_id }} = closing.{{ columns.dbt_scd_id }}
            and current_rows.{{ valid_to }} is null
        union all
        select {% for column in target_columns %}`{{ column }}`{{ ', ' if not loop.last }}{% endfor %}
        from {{ staging }}
        where dbt_change_type = 'insert'
    {% endcall %}
    {{ return('insert overwrite table ' ~ target ~ ' select * from ' ~ work) }}
{%- endmacro %}


{% materialization snapshot, adapter='spark' %}

  {%- set target_table = model.get('alias', model.get('name')) -%}

  {%- set strategy_name = config.get('strategy') -%}
  {%- set unique_key = config.get('unique_key') %}
  {%- set file_format = config.get('file_format') or 'parquet' -%}
  {%- set grant_config = config.get('grants') -%}

  {% set target_relation_exists, target_relation = get_or_create_relation(
          database=none,
          schema=model.schema,
          identifier=target_table,
          type='table') -%}

  {% if not adapter.check_schema_exists(model.database, model.schema) %}
    {% do create_schema(model.schema) %}
  {% endif %}

  {%- if not target_relation.is_table -%}
    {% do exceptions.relation_wrong_type(target_relation, 'table') %}
  {%- endif -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}

  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% set strategy_macro = strategy_dispatch(strategy_name) %}
  {% set strategy = strategy_macro(model, "snapshotted_data", "source_data", model['config'], target_relation_exists) %}

  {% if not target_relation_exists %}

      {% set build_sql = build_snapshot_table(strategy, model['compiled_code']) %}
      {% set final_sql = create_table_as(False, target_relation, build_sql) %}

  {% else %}

      {% set columns = config.get("snapshot_table_column_names") or get_snapshot_table_column_names() %}

      {{ adapter.valid_snapshot_target(target_relation, columns) }}

      {% set staging_table = spark_build_snapshot_staging_table(strategy, sql, target_relation) %}

      -- this may no-op if the database does not require column expansion
      {% do adapter.expand_target_column_types(from_relation=staging_table,
                                               to_relation=target_relation) %}

      {% set missing_columns = adapter.get_missing_columns(staging_table, target_relation)
                                   | rejectattr('name', 'equalto', 'dbt_change_type')
                                   | rejectattr('name', 'equalto', 'DBT_CHANGE_TYPE')
                                   | rejectattr('name', 'equalto', 'dbt_unique_key')
                                   | rejectattr('name', 'equalto', 'DBT_UNIQUE_KEY')
                                   | list %}

      {% do create_columns(target_relation, missing_columns) %}

      {% set source_columns = adapter.get_columns_in_relation(staging_table)
                                   | rejectattr('name', 'equalto', 'dbt_change_type')
                                   | rejectattr('name', 'equalto', 'DBT_CHANGE_TYPE')
                                   | rejectattr('name', 'equalto', 'dbt_unique_key')
                                   | rejectattr('name', 'equalto', 'DBT_UNIQUE_KEY')
                                   | list %}

      {% set quoted_source_columns = [] %}
      {% for column in source_columns %}
        {% do quoted_source_columns.append(adapter.quote(column.name)) %}
      {% endfor %}

      {% if target_relation.is_delta or target_relation.is_iceberg or target_relation.is_hudi %}
        {% set final_sql = snapshot_merge_sql(
              target = target_relation,
              source = staging_table,
              insert_cols = quoted_source_columns
           )
        %}
      {% else %}
        {% set final_sql = parquet_snapshot_rewrite_sql(target_relation, staging_table) %}
      {% endif %}

  {% endif %}

  {% call statement('main') %}
      {{ final_sql }}
  {% endcall %}

  {% set should_revoke = should_revoke(target_relation_exists, full_refresh_mode) %}
  {% do apply_grants(target_relation, grant_config, should_revoke) %}

  {% do persist_docs(target_relation, model) %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}

  {{ adapter.commit() }}

  {% if staging_table is defined %}
      {% do post_snapshot(staging_table) %}
      {% do adapter.drop_relation(target_relation.incorporate(
          path={"identifier": target_relation.identifier ~ '__dbt_rewrite'})) %}
  {% endif %}

  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}
