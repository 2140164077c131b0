-- An audience exists when it has both a rule macro (macros/audiences/audience_rule__<name>)
-- and a row in seeds/audience_settings.csv; one without the other is a half-added (or
-- half-removed) audience: it would never be contacted, or never be measured.
{%- set rules = audience_rules() %}

with

settings as (

    select audience from {{ ref('audience_settings') }}

),

rules as (
    {%- for audience in rules %}
    select '{{ audience }}' as audience
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

)

select
    settings.audience,
    'audience_settings.csv row without a rule macro audience_rule__' || settings.audience
        as problem
from settings
where settings.audience not in (select audience from rules)
union all
select
    rules.audience,
    'rule macro without a row in seeds/audience_settings.csv' as problem
from rules
where rules.audience not in (select audience from settings)
