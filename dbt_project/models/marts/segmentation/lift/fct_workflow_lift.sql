-- Lift per workflow and entry week: treatment vs holdout conversion and net revenue in
-- the window after entry, incremental revenue, relative lift, 95% intervals, whether the
-- sample can tell, and last-touch attributed revenue beside it (labelled; not causal).
-- Only entries whose window has ended count. See macros/workflow_lift.sql.

with

outcomes as (

    select * from {{ ref('int_workflow_entry_outcomes') }}

),

{{ workflow_lift('outcomes', ['workflow', 'entry_week']) }}
