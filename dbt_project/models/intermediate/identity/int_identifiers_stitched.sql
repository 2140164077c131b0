-- Every identifier with its person. A person is a connected component of the identity
-- graph; its person_id is derived from the component's earliest-seen identifier, so it is
-- stable across rebuilds and changes only when components merge (see fct_person_merges).
-- Excluded identifiers (blocklisted, over-connected) belong to no person.

with

identifiers as (

    select * from {{ ref('int_identifiers_profiled') }}

),

components as (

    select * from {{ ref('int_identity_components') }}

),

ranked as (

    select
        identifiers.identifier_key,
        components.component_id,
        row_number() over (
            partition by components.component_id
            order by identifiers.first_seen_at, identifiers.identifier_key
        ) as seen_rank
    from identifiers
    inner join components
        on identifiers.identifier_key = components.identifier_key

),

person_anchors as (

    select
        component_id,
        identifier_key as anchor_identifier_key
    from ranked
    where seen_rank = 1

),

final as (

    select
        identifiers.identifier_key,
        identifiers.identifier_type,
        identifiers.identifier_value,
        case
            when identifiers.is_usable then {{ person_id('person_anchors.anchor_identifier_key') }}
        end as person_id,
        identifiers.first_seen_at,
        identifiers.last_seen_at,
        identifiers.record_count,
        identifiers.linked_identifier_count,
        identifiers.is_usable,
        identifiers.is_blocked,
        identifiers.is_capped,
        identifiers.exclusion_reason
    from identifiers
    left join components
        on identifiers.identifier_key = components.identifier_key
    left join person_anchors
        on components.component_id = person_anchors.component_id

)

select * from final
