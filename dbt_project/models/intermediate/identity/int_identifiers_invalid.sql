-- Identifier values that were written on a record but are not usable identifiers once
-- normalised (an email without a domain, a phone like '000000000'): normalisation nulls
-- them, so they never reach the identity graph. Reported in identity_excluded_identifiers.

{% set written = [
    ('stg_shop__customers', 'created_at', 'email'),
    ('stg_shop__customers', 'created_at', 'phone'),
    ('stg_shop__orders', 'ordered_at', 'email'),
    ('stg_shop__orders', 'ordered_at', 'phone'),
    ('stg_shop__consents', 'recorded_at', 'email'),
    ('stg_shop__consents', 'recorded_at', 'phone'),
    ('stg_shop__events', 'occurred_at', 'email'),
] %}

with

nulled as (

    {% for model, seen_at, identifier_type in written -%}
        select
            '{{ identifier_type }}' as identifier_type,
            {{ identifier_type }}_as_written as identifier_value,
            {{ seen_at }} as seen_at
        from {{ ref(model) }}
        where {{ identifier_type }}_as_written is not null and {{ identifier_type }} is null
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        {{ dbt.concat(['identifier_type', "':'", 'identifier_value']) }} as identifier_key,
        identifier_type,
        identifier_value,
        case identifier_type
            when 'email' then 'invalid: not an email address (needs one @ and a domain)'
            else 'invalid: not a phone number (8 to 15 digits with the country code)'
        end as exclusion_reason,
        count(*) as record_count,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at
    from nulled
    group by identifier_type, identifier_value

)

select * from final
