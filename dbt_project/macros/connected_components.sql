{#-
    Connected components of an undirected graph, as a select of (node, component_id).

    `edges` has columns `node_a`, `node_b`; `nodes` has `node` (every node, including
    isolated ones). component_id is opaque: equal for nodes of one component, distinct
    across components.

    Two algorithms:
    - Randomised contraction (Bögeholz, Brand, Todor: "In-database connected component
      analysis", ICDE 2020), used whenever `dbt run`/`dbt build` executes the model, on
      every engine: each round every node joins the lowest-ordered node of its closed
      neighbourhood, edges are relabelled and deduplicated. The graph shrinks
      geometrically, so the rounds grow with log(size) of the largest component, each a
      few set-based statements over the remaining edges (a join and a group-by: what
      Spark and warehouses distribute well). It needs several statements, so it runs them
      through run_query into work tables; the engine-specific pieces (64-bit hash, xor,
      work tables) are the cc_* macros below, behind adapter.dispatch. DuckDB is the
      fast path (unsigned 64-bit hashes, in-memory temp tables).
    - A single query (connected_components_query) everywhere else (compile, docs, unit
      tests), or when var('identity_cc_algorithm') is 'portable': a recursive CTE
      (min-label propagation; iterations = graph diameter, work per component grows with
      its size squared, which is fine because over-connected identifiers are removed
      before the traversal). Spark has no recursive UNION: see its form below.
-#}
{% macro connected_components(edges, nodes) -%}
    {%- set runs_for_real = execute
        and flags.WHICH in ('run', 'build')
        and model.resource_type == 'model'
        and var('identity_cc_algorithm', 'auto') != 'portable' -%}
    {%- if execute and target.type == 'spark' and var('identity_cc_algorithm', 'auto') == 'portable' -%}
        {{ exceptions.raise_compiler_error(
            'identity_cc_algorithm=portable is not available on Spark (its single query '
            ~ 'is exact only to identity_cc_query_hops hops): leave the var unset') }}
    {%- endif -%}
    {%- if runs_for_real -%}
        {{ return(connected_components_contraction(edges, nodes)) }}
    {%- else -%}
        {{ return(adapter.dispatch('connected_components_query')(edges, nodes)) }}
    {%- endif -%}
{%- endmacro %}


{% macro default__connected_components_query(edges, nodes) -%}
with recursive

undirected_edges as (

    select node_a as node_from, node_b as node_to from {{ edges }} as edges_ab
    union
    select node_b as node_from, node_a as node_to from {{ edges }} as edges_ba

),

labels (node, label) as (

    select node, node as label from {{ nodes }} as all_nodes

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


{% macro spark__connected_components_query(edges, nodes) -%}
{#- Spark's recursive CTEs allow only UNION ALL, which never stops on a cycle, so this
    single query unrolls var('identity_cc_query_hops') rounds of min-label propagation:
    exact for components whose diameter is at most that many hops. Only compile, docs and
    unit tests use it on Spark; builds always run the contraction (exact at any size), and
    identity_cc_algorithm=portable is refused there. -#}
{%- set hops = var('identity_cc_query_hops', 8) -%}
with

undirected_edges as (

    select node_a as node_from, node_b as node_to from {{ edges }} as edges_ab
    union
    select node_b as node_from, node_a as node_to from {{ edges }} as edges_ba

),

labels_0 as (

    select node, node as label from {{ nodes }} as all_nodes

),
{%- for hop in range(1, hops + 1) %}

labels_{{ hop }} as (

    -- each node keeps its label (side 0) and offers it to its neighbours (side 1); the
    -- previous round is read once, so the plan grows linearly with the rounds
    select
        case when sides.side = 0 then previous.node else undirected_edges.node_to end as node,
        min(previous.label) as label
    from labels_{{ hop - 1 }} as previous
    left join undirected_edges
        on previous.node = undirected_edges.node_from
    cross join (select 0 as side union all select 1 as side) as sides
    where sides.side = 0 or undirected_edges.node_to is not null
    group by case when sides.side = 0 then previous.node else undirected_edges.node_to end

){{ ',' if not loop.last }}
{%- endfor %}

select
    node,
    label as component_id
from labels_{{ hops }}
{%- endmacro %}


{% macro connected_components_contraction(edges, nodes) -%}
    {%- set prefix = 'cc_work_' ~ this.identifier ~ '_' -%}
    {%- set max_rounds = var('identity_max_rounds', 64) -%}

    {#- 64-bit hashes as node ids: every join and group-by below works on integers. -#}
    {% do cc_create_work_table(prefix ~ 'nodes',
        'select node, ' ~ cc_hash64('node') ~ ' as node_id from ' ~ nodes ~ ' as all_nodes') %}
    {% do cc_create_work_table(prefix ~ 'edges_0',
        'select ' ~ cc_hash64('node_a') ~ ' as node_a, ' ~ cc_hash64('node_b')
        ~ ' as node_b from ' ~ edges ~ ' as all_edges') %}
    {%- set check = run_query('select count(*) - count(distinct node_id) from '
        ~ cc_work_relation(prefix ~ 'nodes')) -%}
    {%- if check.columns[0].values()[0] != 0 -%}
        {{ exceptions.raise_compiler_error(
            'connected_components: 64-bit hash collision between node keys; '
            ~ 'rerun with --vars "identity_cc_algorithm: portable"') }}
    {%- endif -%}

    {%- set ns = namespace(rounds=0, done=false) -%}
    {%- for round in range(max_rounds) if not ns.done -%}
        {%- set edges_now = cc_work_relation(prefix ~ 'edges_' ~ round) -%}
        {%- set remaining = run_query('select count(*) from ' ~ edges_now).columns[0].values()[0] -%}
        {%- if remaining == 0 -%}
            {%- set ns.done = true -%}
        {%- else -%}
            {%- set ns.rounds = round + 1 -%}
            {%- set representatives = cc_work_relation(prefix ~ 'representatives_' ~ round) -%}
            {#- A fresh random order each round: node ids are uniform hashes, so xor with a
                per-round constant permutes them; min() then picks the lowest-ordered node
                of each closed neighbourhood and xor maps it back. -#}
            {%- set key = cc_order_key(round) -%}
            {%- set representatives_sql -%}
                select
                    node_id,
                    {{ cc_xor('least(' ~ cc_xor('node_id', key) ~ ', min('
                        ~ cc_xor('neighbour_id', key) ~ '))', key) }} as representative_id
                from (
                    select node_a as node_id, node_b as neighbour_id from {{ edges_now }}
                    union all
                    select node_b as node_id, node_a as neighbour_id from {{ edges_now }}
                ) as both_directions
                group by node_id
            {%- endset -%}
            {% do cc_create_work_table(prefix ~ 'representatives_' ~ round, representatives_sql) %}
            {#- relabel edges by representatives; no dedup needed: edges never multiply,
                and duplicates vanish as their ends merge -#}
            {%- set relabelled_sql -%}
                select
                    least(rep_a.representative_id, rep_b.representative_id) as node_a,
                    greatest(rep_a.representative_id, rep_b.representative_id) as node_b
                from {{ edges_now }} as edges
                inner join {{ representatives }} as rep_a
                    on edges.node_a = rep_a.node_id
                inner join {{ representatives }} as rep_b
                    on edges.node_b = rep_b.node_id
                where rep_a.representative_id <> rep_b.representative_id
            {%- endset -%}
            {% do cc_create_work_table(prefix ~ 'edges_' ~ (round + 1), relabelled_sql) %}
            {% do cc_drop_work_table(prefix ~ 'edges_' ~ round) %}
        {%- endif -%}
    {%- endfor -%}
    {%- if not ns.done -%}
        {{ exceptions.raise_compiler_error(
            'connected_components: not converged after ' ~ max_rounds ~ ' rounds') }}
    {%- endif -%}
    {% do cc_drop_work_table(prefix ~ 'edges_' ~ ns.rounds) %}

    {#- Compose the per-round maps, last round first: label(v) = label(rep(v)). Round 0's
        map is applied in the final select; labels_1 and representatives_0 always exist. -#}
    {%- set empty_map = 'select node_id, node_id as label_id from '
        ~ cc_work_relation(prefix ~ 'nodes') ~ ' where 1 = 0' -%}
    {% do cc_create_work_table(prefix ~ 'labels_' ~ [ns.rounds, 1] | max, empty_map) %}
    {%- for round in range(ns.rounds - 1, 0, -1) %}
        {%- set compose_sql -%}
            select
                rep.node_id,
                coalesce(later.label_id, rep.representative_id) as label_id
            from {{ cc_work_relation(prefix ~ 'representatives_' ~ round) }} as rep
            left join {{ cc_work_relation(prefix ~ 'labels_' ~ (round + 1)) }} as later
                on rep.representative_id = later.node_id
        {%- endset -%}
        {% do cc_create_work_table(prefix ~ 'labels_' ~ round, compose_sql) %}
        {% do cc_drop_work_table(prefix ~ 'representatives_' ~ round) %}
        {% do cc_drop_work_table(prefix ~ 'labels_' ~ (round + 1)) %}
    {%- endfor %}
    {%- if ns.rounds == 0 -%}
        {% do cc_create_work_table(prefix ~ 'representatives_0', 'select node_id, node_id as '
            ~ 'representative_id from ' ~ cc_work_relation(prefix ~ 'nodes') ~ ' where 1 = 0') %}
    {%- endif -%}
    {{ log('connected_components: converged after ' ~ ns.rounds ~ ' rounds', info=true) }}

    select
        nodes.node,
        coalesce(labels.label_id, first_round.representative_id, nodes.node_id) as component_id
    from {{ cc_work_relation(prefix ~ 'nodes') }} as nodes
    left join {{ cc_work_relation(prefix ~ 'representatives_0') }} as first_round
        on nodes.node_id = first_round.node_id
    left join {{ cc_work_relation(prefix ~ 'labels_1') }} as labels
        on first_round.representative_id = labels.node_id
{%- endmacro %}


{% macro drop_connected_components_work_tables() -%}
    {#- post-hook of models that call connected_components: the work tables the final
        select read (every other one is dropped as soon as it is used) -#}
    {%- if execute -%}
        {%- set prefix = 'cc_work_' ~ this.identifier ~ '_' -%}
        {%- for name in ['nodes', 'representatives_0', 'labels_1'] -%}
            {% do cc_drop_work_table(prefix ~ name) %}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{#- Engine-specific pieces of the contraction. -#}

{% macro cc_hash64(expression) -%}
    {{ return(adapter.dispatch('cc_hash64')(expression)) }}
{%- endmacro %}
{% macro default__cc_hash64(expression) -%}hashtextextended({{ expression }}, 0){%- endmacro %}
{% macro duckdb__cc_hash64(expression) -%}hash({{ expression }}){%- endmacro %}
{% macro spark__cc_hash64(expression) -%}xxhash64({{ expression }}){%- endmacro %}


{% macro cc_xor(a, b) -%}
    {{ return(adapter.dispatch('cc_xor')(a, b)) }}
{%- endmacro %}
{% macro default__cc_xor(a, b) -%}({{ a }} # {{ b }}){%- endmacro %}
{% macro duckdb__cc_xor(a, b) -%}xor({{ a }}, {{ b }}){%- endmacro %}
{% macro spark__cc_xor(a, b) -%}({{ a }} ^ {{ b }}){%- endmacro %}


{% macro cc_order_key(round) -%}
    {#- A per-round 64-bit constant (signed bigint except on DuckDB, whose hash() is
        unsigned): any constant works, xor with it permutes the ids. -#}
    {%- set key = (round * 11400714819323198485 + 7046029254386353131) % 9223372036854775808 -%}
    {{ return(adapter.dispatch('cc_order_key')(key)) }}
{%- endmacro %}
{% macro default__cc_order_key(key) -%}cast({{ key }} as bigint){%- endmacro %}
{% macro duckdb__cc_order_key(key) -%}cast({{ key }} as ubigint){%- endmacro %}


{#- Work tables live as long as the model's connection: temporary tables where the engine
    has them, tables in the model's schema on Spark (its temporary views are lazy, so
    every round would recompute all the rounds before it). -#}
{% macro cc_work_relation(name) -%}
    {{ return(adapter.dispatch('cc_work_relation')(name)) }}
{%- endmacro %}
{% macro default__cc_work_relation(name) -%}{{ name }}{%- endmacro %}
{% macro spark__cc_work_relation(name) -%}{{ this.schema }}.{{ name }}{%- endmacro %}


{% macro cc_create_work_table(name, sql) -%}
    {{ return(adapter.dispatch('cc_create_work_table')(name, sql)) }}
{%- endmacro %}
{% macro default__cc_create_work_table(name, sql) -%}
    {% do run_query('drop table if exists ' ~ name) %}
    {% do run_query('create temporary table ' ~ name ~ ' as ' ~ sql) %}
{%- endmacro %}
{% macro duckdb__cc_create_work_table(name, sql) -%}
    {% do run_query('create or replace temp table ' ~ name ~ ' as ' ~ sql) %}
{%- endmacro %}
{% macro spark__cc_create_work_table(name, sql) -%}
    {% do run_query('drop table if exists ' ~ cc_work_relation(name)) %}
    {% do run_query('create table ' ~ cc_work_relation(name) ~ ' as ' ~ sql) %}
{%- endmacro %}


{% macro cc_drop_work_table(name) -%}
    {% do run_query('drop table if exists ' ~ cc_work_relation(name)) %}
{%- endmacro %}
