{#- Fails on rows where `expression` is false (same contract as dbt_utils' test of this name). -#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
