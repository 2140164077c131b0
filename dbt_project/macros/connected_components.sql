{#-
    Connected components of an undirected graph, as a select of (node, component_id).

    `edges` has columns `node_a`, `node_b`; `nodes` has `node` (every node, including
    isolated ones). component_id is opaque: equal for nodes of one component, distinct
    across components.

    Two implementations behind adapter.dispatch:
    - default__: one portable recursive CTE (min-label propagation). Its number of
      iterations is the graph diameter; work per component grows with its size squared,
      which is fine because over-connected identifiers are removed before traversal.
    - duckdb__: randomised contraction (Bögeholz, Brand, Todor: "In-database connected
      component analysis", ICDE 2020): each round every node joins the lowest-hashed node of
      its closed neighbourhood, edges are relabelled and deduplicated. The graph shrinks
      geometrically, so the rounds grow with log(size) of the largest component, each a
      few set-based statements over the remaining edges. It needs several statements, so
      it runs them through run_query while `dbt run`/`dbt build` executes the model and
      falls back to the portable query everywhere else (compile, docs, unit tests).
      Set var('identity_cc_algorithm', 'portable') to force the portable version.
-#}
{% macro connected_components(edges, nodes) -%}
    {{ return(adapter.dispatch('connected_components')(edges, nodes)) }}
{%- endmacro %}


{% macro default__connected_components(edges, nodes) -%}
with recursive

undirected_edges as (

    select node_a as node_from, node_b as node_to from {{ edges }}
    union
    select node_b as node_from, node_a as node_to from {{ edges }}

),

labels (node, label) as (

    select node, node as label from {{ nodes }}

    union

    -- a label only travels to nodes above it: the component's minimum reaches everyone,
    -- and labels that could never win are not spread
    select
        undirected_edges.node_to as node,
        labels.label as label
    from labels
    inner join undirected_edges
        on labels.node = undirected_edges.node_from
    where labels.label < undirected_edges.node_to

)

select
    node,
    min(label) as component_id
from labels
group by node
{%- endmacro %}


{% macro duckdb__connected_components(edges, nodes) -%}
    {%- set runs_for_real = execute
        and flags.WHICH in ('run', 'build')
        and model.resource_type == 'model'
        and var('identity_cc_algorithm', 'auto') != 'portable' -%}
    {%- if not runs_for_real -%}
        {{ return(default__connected_components(edges, nodes)) }}
    {%- endif -%}

    {#- Work tables are temporary: in memory, private to this model's connection. -#}
    {%- set prefix = '__cc_' ~ this.identifier ~ '_' -%}
    {%- set max_rounds = var('identity_max_rounds', 64) -%}

    {#- 64-bit hashes as node ids: every join and group-by below works on integers. -#}
    {% call statement('cc_nodes') %}
        create or replace temp table {{ prefix }}nodes as
        select node, hash(node) as node_id from {{ nodes }};
        create or replace temp table {{ prefix }}edges_0 as
        select hash(node_a) as node_a, hash(node_b) as node_b from {{ edges }};
    {% endcall %}
    {%- set check = run_query(
        'select count(*) - count(distinct node_id) from ' ~ prefix ~ 'nodes') -%}
    {%- if check.columns[0].values()[0] != 0 -%}
        {{ exceptions.raise_compiler_error(
            'connected_components: 64-bit hash collision between node keys; '
            ~ 'rerun with --vars "identity_cc_algorithm: portable"') }}
    {%- endif -%}

    {%- set ns = namespace(rounds=0, done=false) -%}
    {%- for round in range(max_rounds) if not ns.done -%}
        {%- set remaining = run_query(
            'select count(*) from ' ~ prefix ~ 'edges_' ~ round).columns[0].values()[0] -%}
        {%- if remaining == 0 -%}
            {%- set ns.done = true -%}
        {%- else -%}
            {%- set ns.rounds = round + 1 -%}
            {#- A fresh random order each round: node ids are uniform hashes, so xor with a
                per-round constant permutes them; min() then picks the lowest-ordered node
                of each closed neighbourhood and xor maps it back. -#}
            {%- set order_key = (round * 11400714819323198485 + 7046029254386353131)
                % 18446744073709551616 -%}
            {% call statement('cc_round') %}
                create or replace temp table {{ prefix }}representatives_{{ round }} as
                select
                    node_id,
                    xor(
                        least(
                            xor(node_id, {{ order_key }}::ubigint),
                            min(xor(neighbour_id, {{ order_key }}::ubigint))
                        ),
                        {{ order_key }}::ubigint
                    ) as representative_id
                from (
                    select node_a as node_id, node_b as neighbour_id
                    from {{ prefix }}edges_{{ round }}
                    union all
                    select node_b as node_id, node_a as neighbour_id
                    from {{ prefix }}edges_{{ round }}
                ) as both_directions
                group by node_id;

                {#- relabel edges by representatives; no dedup needed: edges never
                    multiply, and duplicates vanish as their ends merge -#}
                create or replace temp table {{ prefix }}edges_{{ round + 1 }} as
                select
                    least(rep_a.representative_id, rep_b.representative_id) as node_a,
                    greatest(rep_a.representative_id, rep_b.representative_id) as node_b
                from {{ prefix }}edges_{{ round }} as edges
                inner join {{ prefix }}representatives_{{ round }} as rep_a
                    on edges.node_a = rep_a.node_id
                inner join {{ prefix }}representatives_{{ round }} as rep_b
                    on edges.node_b = rep_b.node_id
                where rep_a.representative_id <> rep_b.representative_id;

                drop table {{ prefix }}edges_{{ round }};
            {% endcall %}
        {%- endif -%}
    {%- endfor -%}
    {%- if not ns.done -%}
        {{ exceptions.raise_compiler_error(
            'connected_components: not converged after ' ~ max_rounds ~ ' rounds') }}
    {%- endif -%}

    {#- Compose the per-round maps, last round first: label(v) = label(rep(v)). Round 0's
        map is applied in the final select. -#}
    {% call statement('cc_compose') %}
        create or replace temp table {{ prefix }}labels_{{ ns.rounds }} as
        select node_id, node_id as label_id from {{ prefix }}nodes where false;
        {%- for round in range(ns.rounds - 1, 0, -1) %}
        create or replace temp table {{ prefix }}labels_{{ round }} as
        select
            rep.node_id,
            coalesce(later.label_id, rep.representative_id) as label_id
        from {{ prefix }}representatives_{{ round }} as rep
        left join {{ prefix }}labels_{{ round + 1 }} as later
            on rep.representative_id = later.node_id;
        drop table {{ prefix }}representatives_{{ round }};
        drop table {{ prefix }}labels_{{ round + 1 }};
        {%- endfor %}
        create temp table if not exists {{ prefix }}representatives_0 as
        select node_id, node_id as representative_id from {{ prefix }}nodes where false;
        create temp table if not exists {{ prefix }}labels_1 as
        select node_id, node_id as label_id from {{ prefix }}nodes where false;
        drop table if exists {{ prefix }}edges_{{ ns.rounds }};
    {% endcall %}
    {{ log('connected_components: converged after ' ~ ns.rounds ~ ' rounds', info=true) }}

    select
        nodes.node,
        coalesce(labels.label_id, first_round.representative_id, nodes.node_id) as component_id
    from {{ prefix }}nodes as nodes
    left join {{ prefix }}representatives_0 as first_round
        on nodes.node_id = first_round.node_id
    left join {{ prefix }}labels_1 as labels
        on first_round.representative_id = labels.node_id
{%- endmacro %}


{% macro drop_connected_components_work_tables() -%}
    {#- post-hook of models that call connected_components -#}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set leftovers = run_query(
            "select table_name from duckdb_tables() where temporary and table_name like '__cc_"
            ~ this.identifier ~ "_%'") -%}
        {%- for name in leftovers.columns[0].values() -%}
            {% do run_query('drop table if exists temp.main."' ~ name ~ '"') %}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
