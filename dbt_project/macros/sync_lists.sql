{#- The members of one audience as a marketing list for a sync model: person, email, first
    name, the audience's message attributes given in `columns` (each may carry an alias), the
    holdout flag and the email consent from dim_customers, so the sync enforces both again at
    the boundary. `key`, when given, is a leading column (an expression over `memberships`)
    for syncs keyed by something else than the person, e.g. one row per reminder. Members
    without an email cannot be on a list. -#}
{% macro audience_list_members(audience, columns=[], key=none) -%}

with

memberships as (

    select * from {{ ref('audience_memberships') }}
    where audience = '{{ audience }}'

),

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        {%- if key %}
        {{ key }},
        {%- endif %}
        memberships.person_id,
        memberships.email,
        memberships.first_name,
        {%- for column in columns %}
        memberships.{{ column }},
        {%- endfor %}
        memberships.is_holdout,
        coalesce(customers.is_email_consented, false) as is_email_consented
    from memberships
    inner join customers
        on memberships.person_id = customers.person_id
    where memberships.email is not null

)

select * from final

{%- endmacro %}
