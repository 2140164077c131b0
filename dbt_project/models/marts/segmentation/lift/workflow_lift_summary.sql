-- Lift per workflow over every entry week with a complete window (same statistics as
-- fct_workflow_lift), with the entry period covered.

with

outcomes as (

    select * from {{ ref('int_workflow_entry_outcomes') }}

),

{{ workflow_lift('outcomes', ['workflow']) }}
