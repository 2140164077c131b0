-- The identity graph's edges: every usable identifier of a record linked to the record's
-- anchor (a star per record), deduplicated.

with

anchored as (

    select * from {{ ref('int_identity_records_anchored') }}
    where anchor_key is not null

),

star_edges as (

    select
        anchor_key as node_a,
        email_key as node_b
    from anchored
    where email_key <> anchor_key
    union all
    select
        anchor_key as node_a,
        phone_key as node_b
    from anchored
    where phone_key <> anchor_key
    union all
    select
        anchor_key as node_a,
        anonymous_id_key as node_b
    from anchored
    where anonymous_id_key <> anchor_key

),

final as (

    select distinct
        node_a,
        node_b
    from star_edges

)

select * from final
