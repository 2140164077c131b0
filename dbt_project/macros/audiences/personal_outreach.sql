{% macro audience_rule__personal_outreach(as_of_at) %}
{#- Personal outreach: the very top customers by trailing-12-month net revenue
    (personal_outreach_top_share, customer_lifecycle). A person contacts them; the contact
    policy keeps them out of every automated flow. -#}
select
    {{ audience_select('personal_outreach', {
        'person_id': 'lifecycle.person_id',
        'entered_at': as_of_at,
        'entry_reason': "'top_customer_by_12m_revenue'",
        'reference_at': 'lifecycle.last_order_at',
        'category': 'lifecycle.last_order_category',
    }) }}
from {{ ref('customer_lifecycle') }} as lifecycle
where lifecycle.is_personal_outreach
{% endmacro %}
