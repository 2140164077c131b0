-- Person id changes recorded by the snapshot of identifier -> person: when two persons
-- merge, the identifiers of the one with the later-seen anchor move to the survivor.
-- One row per (previous person, new person, detection time).

with

history as (

    select * from {{ ref('snap_identifier_persons') }}

),

moves as (

    select
        previous_version.person_id as previous_person_id,
        current_version.person_id,
        current_version.dbt_valid_from as changed_at,
        count(*) as identifiers_moved
    from history as previous_version
    inner join history as current_version
        on previous_version.identifier_key = current_version.identifier_key
        and previous_version.dbt_valid_to = current_version.dbt_valid_from
    where previous_version.person_id is not null
        and current_version.person_id is not null
        and previous_version.person_id <> current_version.person_id
    group by
        previous_version.person_id,
        current_version.person_id,
        current_version.dbt_valid_from

),

current_persons as (

    select distinct person_id
    from history
    where dbt_valid_to is null
        and person_id is not null

),

final as (

    select
        moves.previous_person_id,
        moves.person_id,
        -- the previous id survives nowhere: its whole profile moved (a merge); otherwise
        -- only some identifiers moved (a split, e.g. after a blocklist change)
        case
            when current_persons.person_id is null then 'merge' else 'split'
        end as change_type,
        cast(moves.identifiers_moved as {{ dbt.type_int() }}) as identifiers_moved,
        moves.changed_at
    from moves
    left join current_persons
        on moves.previous_person_id = current_persons.person_id

)

select * from final
