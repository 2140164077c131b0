{#- The audience machinery (docs/segmentation.md, "Adding an audience"). Each audience is one
    macro `audience_rule__<audience>(as_of_at)` in macros/audiences/: its entry rule, written
    once. It returns every entry into the audience observable before as_of_at (an SQL
    expression for the as-of instant), in the one shape below, each row with the interval
    in which it holds. audience_entries keeps them all: the rows that hold at as_of_at are
    today's audience, all of them are the replayed history (fct_workflow_entries). -#}

{% macro audience_columns() -%}
    {#- The one shape of every audience rule: (column, type). Message attributes are null
        where an audience has no use for them. -#}
    {{ return([
        ('person_id', dbt.type_string()),
        ('audience', dbt.type_string()),
        ('step', dbt.type_int()),
        ('entered_at', type_timestamptz()),
        ('step_at', type_timestamptz()),
        ('exited_at', type_timestamptz()),
        ('entry_reason', dbt.type_string()),
        ('reference_at', type_timestamptz()),
        ('rule_suppression_reason', dbt.type_string()),
        ('category', dbt.type_string()),
        ('product_id', dbt.type_string()),
        ('product_name', dbt.type_string()),
        ('expected_run_out_date', 'date'),
        ('cart_value', dbt.type_numeric()),
        ('cart_value_tier', dbt.type_string()),
        ('winback_reason', dbt.type_string()),
    ]) }}
{%- endmacro %}


{% macro audience_select(audience, values) -%}
    {#- The select list of a rule's final select: every column of audience_columns(), cast
        to its type, from `values` (column -> SQL expression); columns not given are null.
        step defaults to 1 and step_at to entered_at. -#}
    {%- set names = audience_columns() | map(attribute=0) | list %}
    {%- for required in ['person_id', 'entered_at', 'entry_reason'] if required not in values %}
        {{ exceptions.raise_compiler_error(
            "audience " ~ audience ~ ": audience_select needs a value for " ~ required) }}
    {%- endfor %}
    {%- for name in values if name not in names %}
        {{ exceptions.raise_compiler_error(
            "audience " ~ audience ~ ": '" ~ name ~ "' is not an audience column ("
            ~ names | join(', ') ~ "); add it to audience_columns() first") }}
    {%- endfor %}
    {%- set defaults = {
        'audience': "'" ~ audience ~ "'",
        'step': '1',
        'step_at': values['entered_at'],
    } %}
    {%- for name, type in audience_columns() %}
        cast({{ values.get(name, defaults.get(name, 'null')) }} as {{ type }}) as {{ name }}
        {{- ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{% macro audience_rules() -%}
    {#- The audiences that have a rule: every macro named audience_rule__<audience>, sorted.
        (Macros are known when dbt parses, so the refs inside the rules become real
        dependencies of the models that union them.) Var audience_rules_only (a list) keeps
        only those: a unit test of one rule is not disturbed by the others. -#}
    {%- set only = var('audience_rules_only', none) %}
    {%- set names = [] %}
    {%- for name in context.keys() if name.startswith('audience_rule__') %}
        {%- if only is none or name[15:] in only %}
            {%- do names.append(name[15:]) %}
        {%- endif %}
    {%- endfor %}
    {{ return(names | sort) }}
{%- endmacro %}


{% macro audience_rules_union(as_of_at) -%}
    {#- Every rule's entries as of as_of_at, one union in the common shape. -#}
    {%- for audience in audience_rules() %}
    select * from (
        {{ context['audience_rule__' ~ audience](as_of_at) }}
    ) as {{ audience }}_entries
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}


{% macro earlier_of(first, second) -%}
    {#- The earlier of two timestamps, where the first may be null (= never). -#}
    case when {{ first }} is not null and {{ first }} < {{ second }} then {{ first }}
        else {{ second }} end
{%- endmacro %}
