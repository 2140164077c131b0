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

    {%- set prefix = this.schema ~ '.__cc_' ~ this.identifier ~ '_' -%}
    {%- set max_rounds = var('identity_max_rounds', 64) -%}

    {#- Integer node ids make every join and group-by below cheaper than on strings. -#}
    {% call statement('cc_nodes') %}
        create or replace table {{ prefix }}nodes as
        select node, hash(node) as node_id from {{ nodes }}
    {% endcall %}
    {%- set check = run_query(
        'select count(*) - count(distinct node_id) from ' ~ prefix ~ 'nodes') -%}
    {%- if check.columns[0].values()[0] != 0 -%}
        {{ exceptions.raise_compiler_error(
            'connected_components: 64-bit hash collision between node keys; '
            ~ 'rerun with --vars "identity_cc_algorithm: portable"') }}
    {%- endif -%}

    {% call statement('cc_edges') %}
        create or replace table {{ prefix }}edges_0 as
        select distinct node_from, node_to from (
            select hash(node_a) as node_from, hash(node_b) as node_to from {{ edges }}
            union all
            select hash(node_b), hash(node_a) from {{ edges }}
        ) as both_directions
        where node_from <> node_to
    {% endcall %}

    {%- set ns = namespace(rounds=0, done=false) -%}
    {%- for round in range(max_rounds) if not ns.done -%}
        {%- set remaining = run_query(
            'select count(*) from ' ~ prefix ~ 'edges_' ~ round).columns[0].values()[0] -%}
        {%- if remaining == 0 -%}
            {%- set ns.done = true -%}
        {%- else -%}
            {%- set ns.rounds = round + 1 -%}
            {#- each node picks the lowest-hashed node of its closed neighbourhood -#}
            {% call statement('cc_representatives') %}
                create or replace table {{ prefix }}representatives_{{ round }} as
                select
                    node_from as node_id,
                    case
                        when hash(node_from, {{ round }}) <= min(hash(node_to, {{ round }}))
                            then node_from
                        else arg_min(node_to, hash(node_to, {{ round }}))
                    end as representative_id
                from {{ prefix }}edges_{{ round }}
                group by node_from
            {% endcall %}
            {% call statement('cc_contract') %}
                create or replace table {{ prefix }}edges_{{ round + 1 }} as
                select distinct
                    rep_from.representative_id as node_from,
                    rep_to.representative_id as node_to
                from {{ prefix }}edges_{{ round }} as edges
                inner join {{ prefix }}representatives_{{ round }} as rep_from
                    on edges.node_from = rep_from.node_id
                inner join {{ prefix }}representatives_{{ round }} as rep_to
                    on edges.node_to = rep_to.node_id
                where rep_from.representative_id <> rep_to.representative_id;
                drop table {{ prefix }}edges_{{ round }};
            {% endcall %}
        {%- endif -%}
    {%- endfor -%}
    {%- if not ns.done -%}
        {{ exceptions.raise_compiler_error(
            'connected_components: not converged after ' ~ max_rounds ~ ' rounds') }}
    {%- endif -%}

    {#- Compose the per-round maps, last round first: label(v) = label(rep(v)). -#}
    {% call statement('cc_compose') %}
        create or replace table {{ prefix }}labels_{{ ns.rounds }} as
        select node_id, node_id as label_id from {{ prefix }}nodes where false;
        {%- for round in range(ns.rounds - 1, -1, -1) %}
        create or replace table {{ prefix }}labels_{{ round }} as
        select
            rep.node_id,
            coalesce(later.label_id, rep.representative_id) as label_id
        from {{ prefix }}representatives_{{ round }} as rep
        left join {{ prefix }}labels_{{ round + 1 }} as later
            on rep.representative_id = later.node_id;
        drop table {{ prefix }}representatives_{{ round }};
        drop table {{ prefix }}labels_{{ round + 1 }};
        {%- endfor %}
        drop table if exists {{ prefix }}edges_{{ ns.rounds }};
    {% endcall %}
    {{ log('connected_components: converged after ' ~ ns.rounds ~ ' rounds', info=true) }}

    select
        nodes.node,
        cast(coalesce(labels.label_id, nodes.node_id) as {{ dbt.type_string() }}) as component_id
    from {{ prefix }}nodes as nodes
    left join {{ prefix }}labels_0 as labels
        on nodes.node_id = labels.node_id
{%- endmacro %}


{% macro drop_connected_components_work_tables() -%}
    {#- post-hook of models that call connected_components -#}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set prefix = '__cc_' ~ this.identifier ~ '_' -%}
        {%- set leftovers = run_query(
            "select table_name from information_schema.tables where table_schema = '"
            ~ this.schema ~ "' and table_name like '" ~ prefix ~ "%'") -%}
        {%- for name in leftovers.columns[0].values() -%}
            {% do run_query('drop table if exists ' ~ this.schema ~ '."' ~ name ~ '"') %}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
