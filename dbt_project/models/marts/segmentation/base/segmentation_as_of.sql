-- The as-of point of RFM, lifecycle and audiences: var('as_of_date') (inclusive) or the
-- latest order date; as_of_at is the end of that day (exclusive), in UTC. Always one row:
-- the var is a constant, never selected once per order. The hourly path sets the
-- environment variable RW_SEGMENTATION_NOW (an ISO-8601 UTC instant): then as_of_at is that
-- instant and as_of_date its day, so hours are measured from the true current time. An
-- environment variable rather than a var: a changed var makes dbt re-parse the whole project,
-- a changed environment variable only the files that read it (this one).
{% set now = env_var('RW_SEGMENTATION_NOW', '') %}

with

{% if var('as_of_date') -%}
as_of_date as (

    select cast('{{ var("as_of_date") }}' as date) as as_of_date

),
{%- else -%}
orders as (

    select * from {{ ref('fct_orders') }}

),

as_of_date as (

    select cast(max(order_date) as date) as as_of_date
    from orders

),
{%- endif %}

final as (

    select
        {% if now -%}
            cast('{{ now[:10] }}' as date) as as_of_date,
            cast('{{ now }}' as {{ type_timestamptz() }}) as as_of_at
        {%- else -%}
            as_of_date,
            cast({{ dbt.dateadd('day', 1, 'as_of_date') }} as {{ type_timestamptz() }})
                as as_of_at
        {%- endif %}
    from as_of_date

)

select * from final
