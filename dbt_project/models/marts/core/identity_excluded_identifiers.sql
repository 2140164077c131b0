-- Report of identifiers kept out of the identity graph and why: blocklisted junk
-- (seeds/identity_blocklist.csv), over-connected identifiers shared by more people than
-- var('identity_max_linked_identifiers'), and values normalisation nulled as invalid
-- (e.g. the phone '000000000'), which are reported as written.

with

identifiers as (

    select * from {{ ref('int_identifiers_stitched') }}

),

invalid as (

    select * from {{ ref('int_identifiers_invalid') }}

),

final as (

    select
        identifier_key,
        identifier_type,
        identifier_value,
        case when is_blocked then 'blocklist' else 'cap' end as exclusion_type,
        exclusion_reason,
        cast(linked_identifier_count as {{ dbt.type_int() }}) as linked_identifier_count,
        cast(record_count as {{ dbt.type_int() }}) as record_count,
        first_seen_at,
        last_seen_at
    from identifiers
    where not is_usable
    union all
    select
        identifier_key,
        identifier_type,
        identifier_value,
        'invalid' as exclusion_type,
        exclusion_reason,
        cast(0 as {{ dbt.type_int() }}) as linked_identifier_count,
        cast(record_count as {{ dbt.type_int() }}) as record_count,
        first_seen_at,
        last_seen_at
    from invalid

)

select * from final
