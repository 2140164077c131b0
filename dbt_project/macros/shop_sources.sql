{#- Where the staging layer reads the shop's raw tables: var('shop_source') picks the raw
    contract files (`raw`, default) or a loader's Shopify schema already in the warehouse
    (`fivetran`, `airbyte`), mapped onto the raw contract by staging/<loader>_shopify/.
    Tables a Shopify loader does not carry (web events, email events) always come from raw. -#}

{% macro shop_source_name() -%}
    {%- set name = var('shop_source', 'raw') -%}
    {%- if name not in ['raw', 'fivetran', 'airbyte'] -%}
        {{ exceptions.raise_compiler_error(
            "var('shop_source') is '" ~ name ~ "'; expected one of raw, fivetran, airbyte") }}
    {%- endif -%}
    {{ return(name) }}
{%- endmacro %}

{% macro shop_relation(table) -%}
    {%- set name = shop_source_name() -%}
    {%- if name == 'raw' or table not in ['customers', 'orders', 'order_items', 'products', 'refunds', 'consents'] -%}
        {{ return(source('shop', table)) }}
    {%- else -%}
        {{ return(ref('stg_' ~ name ~ '_shopify__' ~ table)) }}
    {%- endif -%}
{%- endmacro %}


{#- Shopify's order status onto the contract's: cancelled (cancelled_at set, or voided),
    refunded, partially_refunded, pending (pending, authorized: nothing paid yet), paid.
    partially_paid is paid when the amount paid is known (paid_amount not null: the order's
    total is then what was paid), else pending. -#}
{% macro shopify_order_status(financial_status, cancelled_at, paid_amount='null') -%}
    case
        when {{ cancelled_at }} is not null or lower({{ financial_status }}) = 'voided'
            then 'cancelled'
        when lower({{ financial_status }}) = 'refunded' then 'refunded'
        when lower({{ financial_status }}) = 'partially_refunded' then 'partially_refunded'
        when lower({{ financial_status }}) in ('pending', 'authorized') then 'pending'
        when lower({{ financial_status }}) = 'partially_paid' and {{ paid_amount }} is null
            then 'pending'
        else 'paid'
    end
{%- endmacro %}


{#- The product of an order line, keyed as every Shopify path keys it (the orders export
    importer too): the SKU, else 'name-' + 16 hex digits of md5(line name). -#}
{% macro shopify_product_id(sku, name) -%}
    coalesce(
        nullif(trim({{ sku }}), ''),
        {{ dbt.concat(["'name-'", 'substr(' ~ dbt.hash('trim(' ~ name ~ ')') ~ ', 1, 16)']) }},
        'unnamed-product'
    )
{%- endmacro %}


{#- One row per record of an Airbyte stream synced in "append" mode, which keeps every
    extracted version: the latest extraction wins, then the latest `tie_breaker` column
    (updated_at where the stream has it). A deletion is a version like any other, so a
    deleted record's row carries deleted_at. -#}
{% macro airbyte_latest_records(relation, tie_breaker=none) -%}
    select *
    from (
        select
            records.*,
            row_number() over (
                partition by records.id
                order by records._airbyte_extracted_at desc
                    {%- if tie_breaker %}, records.{{ tie_breaker }} desc{% endif %}
            ) as version_rank
        from {{ relation }} as records
    ) as versions
    where version_rank = 1
{%- endmacro %}


{#- One row per element of the JSON array column `column` of each row of `relation` (an
    Airbyte nested list): the row's `key`, the element's position (`element_index`) and the
    element as JSON, named `element`. -#}
{% macro json_array_elements(relation, key, column, element) -%}
    select
        parent.{{ key }},
        cast({{ element }}.position as {{ dbt.type_int() }}) as element_index,
        {{ element }}.element as {{ element }}
    from {{ relation }} as parent
    {{ json_array_rows('parent.' ~ column, element) }}
{%- endmacro %}


{#- Money as the raw contract stores it. -#}
{% macro money(expression) -%}
    cast({{ expression }} as decimal(18, 2))
{%- endmacro %}


{#- A timestamp without time zone that holds UTC (Fivetran's timestamps) as timestamptz. -#}
{% macro utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('utc_timestamp')(expression)) }}
{%- endmacro %}

{% macro default__utc_timestamp(expression) -%}
    ({{ expression }} at time zone 'UTC')
{%- endmacro %}

{% macro spark__utc_timestamp(expression) -%}
    to_utc_timestamp({{ expression }}, 'UTC')
{%- endmacro %}


{#- A value inside a JSON column as text: path is dot-separated keys and array indexes,
    e.g. json_text('billing_address', 'country_code'), json_text('discount_codes', '0.code'). -#}
{% macro json_text(expression, path) -%}
    {{ return(adapter.dispatch('json_text')(expression, path)) }}
{%- endmacro %}

{% macro _json_dollar_path(path) -%}
    {%- set ns = namespace(out='$') -%}
    {%- for part in path.split('.') -%}
        {%- if part is number or part.isdigit() -%}
            {%- set ns.out = ns.out ~ '[' ~ part ~ ']' -%}
        {%- else -%}
            {%- set ns.out = ns.out ~ '.' ~ part -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(ns.out) }}
{%- endmacro %}

{% macro default__json_text(expression, path) -%}
    (cast({{ expression }} as jsonb) #>> '{ {{- path.split('.') | join(',') -}} }')
{%- endmacro %}

{% macro duckdb__json_text(expression, path) -%}
    json_extract_string({{ expression }}, '{{ _json_dollar_path(path) }}')
{%- endmacro %}

{% macro spark__json_text(expression, path) -%}
    get_json_object({{ expression }}, '{{ _json_dollar_path(path) }}')
{%- endmacro %}


{#- FROM-clause suffix that turns each element of a JSON array column into a row:
    `alias.position` (order in the array) and `alias.element` (the element as JSON). -#}
{% macro json_array_rows(expression, alias) -%}
    {{ return(adapter.dispatch('json_array_rows')(expression, alias)) }}
{%- endmacro %}

{% macro default__json_array_rows(expression, alias) -%}
    cross join lateral jsonb_array_elements(cast({{ expression }} as jsonb))
        with ordinality as {{ alias }}(element, position)
{%- endmacro %}

{% macro duckdb__json_array_rows(expression, alias) -%}
    cross join json_each({{ expression }}) as {{ alias }}(position, element)
{%- endmacro %}

{% macro spark__json_array_rows(expression, alias) -%}
    lateral view posexplode(from_json({{ expression }}, 'array<string>')) {{ alias }} as position, element
{%- endmacro %}
