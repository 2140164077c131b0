{#- Fails on rows where `expression` is false; on a column, the expression follows the
    column name (`column_name ~ ' ' ~ expression`), as dbt_utils' test of this name. -#}
{% test expression_is_true(model, expression, column_name=None) %}

select *
from {{ model }}
where not ({{ column_name ~ ' ' if column_name else '' }}{{ expression }})

{% endtest %}
