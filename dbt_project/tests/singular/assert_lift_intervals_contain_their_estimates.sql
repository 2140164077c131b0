-- Every lift interval must contain its point estimate, low <= high.

with

lift as (

    select * from {{ ref('fct_workflow_lift') }}

)

select *
from lift
where conversion_lift not between conversion_lift_ci_low - 1e-9 and conversion_lift_ci_high + 1e-9
    or revenue_lift_per_entry
        not between revenue_lift_per_entry_ci_low - 1e-6 and revenue_lift_per_entry_ci_high + 1e-6
