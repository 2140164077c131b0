{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}{{ delete_rows(this, 'audience in '"
            ~ " ~ sql_list(audience_rules()), 'audience') }}{% endif %}",
        **spark_partitions_config('audience')
    )
}}
-- Every entry into every audience begun by the as-of point, one shape
-- (macros/audience_rules.sql): the union of the rules in macros/audiences/, one row per
-- (person, audience, entry, step) with the interval it holds [step_at, exited_at).
-- is_active marks the rows that hold at the as-of point: today's audiences
-- (audience_candidates); is_planned the later steps of an entry still to come (the
-- frequency cap counts them); all entries are the replayed history (fct_workflow_entries).
-- Both flags are as of the build that wrote the row: readers recompute them from the
-- intervals. Incremental: a build replaces the rows of the rules it runs (all of them,
-- or var audience_rules_only - the hourly cart path re-runs only the cart rule); a rule
-- whose columns change needs `--full-refresh --select audience_entries`.

with

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

entries as (

    {{ audience_rules_union('(select as_of_at from ' ~ ref('segmentation_as_of') ~ ')') }}

),

final as (

    select
        entries.*,
        entries.step_at <= as_of.as_of_at
        and (entries.exited_at is null or entries.exited_at > as_of.as_of_at) as is_active,
        entries.step_at > as_of.as_of_at as is_planned
    from entries
    cross join as_of
    where entries.entered_at <= as_of.as_of_at

)

select * from final
