{#- Identifier normalisation shared by every staging model that carries an identifier. -#}

{% macro normalize_email(column) -%}
    {#- trim + lower-case; anything without exactly one '@' and a dot after it is not an email -#}
    case
        when lower(trim({{ column }})) like '_%@_%._%'
            and lower(trim({{ column }})) not like '%@%@%'
            and lower(trim({{ column }})) not like '% %'
            then lower(trim({{ column }}))
    end
{%- endmacro %}


{% macro strip_non_digits(column) -%}
    {{ return(adapter.dispatch('strip_non_digits')(column)) }}
{%- endmacro %}

{% macro default__strip_non_digits(column) -%}
    regexp_replace({{ column }}, '[^0-9]', '', 'g')
{%- endmacro %}

{% macro snowflake__strip_non_digits(column) -%}
    regexp_replace({{ column }}, '[^0-9]', '')
{%- endmacro %}

{#- Spark's fourth argument is a start position, not flags: it replaces every match -#}
{% macro spark__strip_non_digits(column) -%}
    regexp_replace({{ column }}, '[^0-9]', '')
{%- endmacro %}

{% macro bigquery__strip_non_digits(column) -%}
    regexp_replace({{ column }}, r'[^0-9]', '')
{%- endmacro %}


{% macro normalize_phone(column) -%}
    {#- To E.164: '+48 600 123 456', '0048600123456', '600-123-456' -> '+48600123456'.
        Numbers without a country code get var('default_phone_country_code'); numbers
        that cannot be valid (fewer than 7 or more than 15 digits) become null. -#}
    {%- set cc = var('default_phone_country_code') -%}
    {%- set national_length = var('default_phone_national_length') -%}
    {%- set digits = strip_non_digits(column) -%}
    {%- set international -%}
        case
            when trim({{ column }}) like '+%' then {{ digits }}
            when {{ digits }} like '00%' then substr({{ digits }}, 3)
            when length({{ digits }}) = {{ national_length }} then '{{ cc }}' || {{ digits }}
            when length({{ digits }}) = {{ national_length + 1 }} and {{ digits }} like '0%'
                then '{{ cc }}' || substr({{ digits }}, 2)
            else {{ digits }}
        end
    {%- endset -%}
    case
        when length({{ international }}) between 8 and 15
            and {{ international }} not like '0%'
            then '+' || {{ international }}
    end
{%- endmacro %}


{% macro identifier_key(identifier_type, column) -%}
    {#- The graph's node key: '<type>:<normalised value>'. -#}
    {{ dbt.concat(["'" ~ identifier_type ~ ":'", column]) }}
{%- endmacro %}


{% macro person_id(anchor_identifier_key) -%}
    {#- Deterministic person id: 'p_' + 20 hex digits (80 bits) of md5(anchor identifier key). -#}
    {{ dbt.concat(["'p_'", "substr(" ~ dbt.hash(anchor_identifier_key) ~ ", 1, 20)"]) }}
{%- endmacro %}


{% macro unidentified_person_id(order_id) -%}
    {#- A record with no usable identifier is a person of its own: 'u_' + hash of the order. -#}
    {{ dbt.concat(["'u_'", "substr(" ~ dbt.hash(dbt.concat(["'order:'", order_id])) ~ ", 1, 20)"]) }}
{%- endmacro %}
