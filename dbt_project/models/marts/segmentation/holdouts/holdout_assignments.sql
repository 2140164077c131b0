{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='fail',
    )
}}
-- Persisted holdout assignments, insert-only: one row per (person, experiment, salt),
-- written the first time a person needs one and never changed afterwards, so rebuilds,
-- new data or a changed percentage never reshuffle anyone already assigned.
--   experiment 'global'      every person (var global_holdout_percent)
--   experiment <audience>    every person who ever entered that automated audience
--                            (fct_workflow_entries, audience_membership_history;
--                            audience_settings.holdout_percent or var audience_holdout_percent)
-- bucket = hash_bucket(salt|experiment|person_id) in 0..9999; is_holdout = bucket <
-- percent x 100. A person id that appears through a merge (fct_person_merges) inherits
-- the earliest assignment of the ids merged into it instead of a new draw, so a merged
-- person keeps one assignment. full_refresh=false: `dbt build --full-refresh` leaves this
-- table alone; drop it deliberately to start over (or change var holdout_salt).

with

customers as (

    select person_id from {{ ref('dim_customers') }}

),

-- every (person, workflow) entered: the replayed history, plus the qualifications recorded
-- since it was built (the hourly path rebuilds audience_membership_history, not the replay,
-- and a new entrant needs its draw before its first message)
entries as (

    select
        person_id,
        workflow
    from {{ ref('fct_workflow_entries') }}
    union
    select
        person_id,
        audience as workflow
    from {{ ref('audience_membership_history') }}

),

settings as (

    select * from {{ ref('audience_settings') }}
    where is_automated

),

person_merges as (

    select * from {{ ref('fct_person_merges') }}
    where change_type = 'merge'

),

needed as (

    select
        person_id,
        'global' as experiment,
        cast({{ var('global_holdout_percent') }} as {{ type_double() }}) as holdout_percent
    from customers

    union all

    select
        entries.person_id,
        entries.workflow as experiment,
        cast(
            coalesce(settings.holdout_percent, {{ var('audience_holdout_percent') }})
            as {{ type_double() }}
        ) as holdout_percent
    from entries
    inner join settings
        on entries.workflow = settings.audience

),

{% if is_incremental() %}

    existing as (

        select * from {{ this }}
        where salt = '{{ var("holdout_salt") }}'

    ),

    new_rows as (

        select needed.*
        from needed
        where not exists (
                select 1
                from existing
                where existing.person_id = needed.person_id
                    and existing.experiment = needed.experiment
            )

    ),

    inherited as (

        select
            new_rows.person_id,
            new_rows.experiment,
            existing.person_id as inherited_from_person_id,
            existing.holdout_percent,
            existing.hash_bucket,
            existing.is_holdout,
            row_number() over (
                partition by new_rows.person_id, new_rows.experiment
                order by existing.assigned_at, existing.person_id
            ) as inheritance_rank
        from new_rows
        inner join person_merges
            on new_rows.person_id = person_merges.person_id
        inner join existing
            on person_merges.previous_person_id = existing.person_id
            and new_rows.experiment = existing.experiment

    ),

{% else %}

new_rows as (

    select * from needed

),

inherited as (

    select
        cast(null as {{ dbt.type_string() }}) as person_id,
        cast(null as {{ dbt.type_string() }}) as experiment,
        cast(null as {{ dbt.type_string() }}) as inherited_from_person_id,
        cast(null as {{ type_double() }}) as holdout_percent,
        cast(null as {{ dbt.type_bigint() }}) as hash_bucket,
        cast(null as boolean) as is_holdout,
        1 as inheritance_rank
    from needed
    where false

),

{% endif %}

drawn as (

    select
        new_rows.person_id,
        new_rows.experiment,
        new_rows.holdout_percent,
        cast({{ hash_bucket(dbt.concat([
            "'" ~ var('holdout_salt') ~ "|'", 'new_rows.experiment', "'|'", 'new_rows.person_id'
        ])) }} as {{ dbt.type_bigint() }}) as hash_bucket
    from new_rows

),

final as (

    select
        drawn.person_id,
        drawn.experiment,
        case when drawn.experiment = 'global' then 'global' else 'audience' end
            as holdout_scope,
        cast('{{ var("holdout_salt") }}' as {{ dbt.type_string() }}) as salt,
        cast(
            coalesce(inherited.holdout_percent, drawn.holdout_percent)
            as {{ type_double() }}
        ) as holdout_percent,
        cast(coalesce(inherited.hash_bucket, drawn.hash_bucket) as {{ dbt.type_bigint() }})
            as hash_bucket,
        coalesce(inherited.is_holdout, drawn.hash_bucket < drawn.holdout_percent * 100)
            as is_holdout,
        case when inherited.person_id is not null then 'merge' else 'hash' end
            as assignment_method,
        inherited.inherited_from_person_id,
        cast({{ dbt.current_timestamp() }} as {{ type_timestamptz() }}) as assigned_at
    from drawn
    left join inherited
        on drawn.person_id = inherited.person_id
        and drawn.experiment = inherited.experiment
        and inherited.inheritance_rank = 1

)

select * from final
