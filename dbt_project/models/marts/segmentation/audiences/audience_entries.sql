-- Every entry into every audience up to the as-of point, one shape (macros/audience_rules.sql):
-- the union of the rules in macros/audiences/, one row per (person, audience, entry, step)
-- with the interval it holds [step_at, exited_at). is_active marks the rows that hold at
-- the as-of point: today's audiences (audience_candidates); all rows are the replayed
-- history (fct_workflow_entries).

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
        entries.exited_at is null or entries.exited_at > as_of.as_of_at as is_active
    from entries
    cross join as_of
    where entries.step_at <= as_of.as_of_at

)

select * from final
