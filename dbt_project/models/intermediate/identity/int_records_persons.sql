-- The person behind every identified record (customer, order, device link, consent).
-- Records without a usable identifier get no person here; marts give them a singleton.

with

anchored as (

    select * from {{ ref('int_identity_records_anchored') }}

),

stitched as (

    select * from {{ ref('int_identifiers_stitched') }}

),

final as (

    select
        anchored.record_source,
        anchored.record_id,
        stitched.person_id
    from anchored
    left join stitched
        on anchored.anchor_key = stitched.identifier_key

)

select * from final
