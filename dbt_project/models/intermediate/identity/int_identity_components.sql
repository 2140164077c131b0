{{ config(post_hook="{{ drop_connected_components_work_tables() }}") }}

-- Connected components of the identity graph (see macros/connected_components.sql): one
-- row per usable identifier with an opaque component id.

with

components as (

    {{ connected_components(
        edges='(select node_a, node_b from ' ~ ref('int_identity_edges') ~ ')',
        nodes='(select identifier_key as node from ' ~ ref('int_identifiers_profiled')
            ~ ' where is_usable)'
    ) | indent(4) }}

),

final as (

    select
        node as identifier_key,
        component_id
    from components

)

select * from final
