-- One row per identifier seen in any record: when it was first and last seen, how many
-- person-level identifiers it co-occurs with, and whether it is kept out of the identity
-- graph (blocklisted, or shared by more people than var('identity_max_linked_identifiers')).

with

records as (

    select * from {{ ref('int_identity_records') }}

),

blocklist as (

    select * from {{ ref('identity_blocklist') }}

),

observations as (

    select
        'customer_id' as identifier_type,
        customer_id as identifier_value,
        seen_at
    from records
    where customer_id is not null
    union all
    select
        'email' as identifier_type,
        email as identifier_value,
        seen_at
    from records
    where email is not null
    union all
    select
        'phone' as identifier_type,
        phone as identifier_value,
        seen_at
    from records
    where phone is not null
    union all
    select
        'anonymous_id' as identifier_type,
        anonymous_id as identifier_value,
        seen_at
    from records
    where anonymous_id is not null

),

seen as (

    select
        identifier_type,
        identifier_value,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at,
        count(*) as record_count
    from observations
    group by identifier_type, identifier_value

),

-- distinct person-level identifiers (accounts, emails, phones) each identifier appears with
linked as (

    select
        'customer_id' as identifier_type,
        customer_id as identifier_value,
        count(distinct email) + count(distinct phone) as linked_identifier_count
    from records
    where customer_id is not null
    group by customer_id
    union all
    select
        'email' as identifier_type,
        email as identifier_value,
        count(distinct customer_id) + count(distinct phone) as linked_identifier_count
    from records
    where email is not null
    group by email
    union all
    select
        'phone' as identifier_type,
        phone as identifier_value,
        count(distinct customer_id) + count(distinct email) as linked_identifier_count
    from records
    where phone is not null
    group by phone
    union all
    select
        'anonymous_id' as identifier_type,
        anonymous_id as identifier_value,
        count(distinct customer_id)
        + count(distinct email)
        + count(distinct phone) as linked_identifier_count
    from records
    where anonymous_id is not null
    group by anonymous_id

),

blocked as (

    select
        seen.identifier_type,
        seen.identifier_value,
        min(blocklist.reason) as blocklist_reason
    from seen
    inner join blocklist
        on seen.identifier_type = blocklist.identifier_type
        and (
            (blocklist.match_type = 'exact' and seen.identifier_value = blocklist.pattern)
            or (blocklist.match_type = 'like' and seen.identifier_value like blocklist.pattern)
        )
    group by seen.identifier_type, seen.identifier_value

),

flagged as (

    select
        {{ dbt.concat(['seen.identifier_type', "':'", 'seen.identifier_value']) }}
            as identifier_key,
        seen.identifier_type,
        seen.identifier_value,
        seen.first_seen_at,
        seen.last_seen_at,
        seen.record_count,
        coalesce(linked.linked_identifier_count, 0) as linked_identifier_count,
        blocked.blocklist_reason is not null as is_blocked,
        blocked.blocklist_reason is null
        and coalesce(linked.linked_identifier_count, 0)
        > {{ var('identity_max_linked_identifiers') }} as is_capped,
        case
            when blocked.blocklist_reason is not null
                then 'blocklist: ' || blocked.blocklist_reason
            when coalesce(linked.linked_identifier_count, 0)
                > {{ var('identity_max_linked_identifiers') }}
                then 'over-connected: linked to '
                    || cast(linked.linked_identifier_count as {{ dbt.type_string() }})
                    || ' person-level identifiers (cap '
                    || '{{ var("identity_max_linked_identifiers") }})'
        end as exclusion_reason
    from seen
    left join linked
        on seen.identifier_type = linked.identifier_type
        and seen.identifier_value = linked.identifier_value
    left join blocked
        on seen.identifier_type = blocked.identifier_type
        and seen.identifier_value = blocked.identifier_value

),

final as (

    select
        *,
        exclusion_reason is null as is_usable
    from flagged

)

select * from final
