-- A global-holdout member must never be in an automated flow's treatment group.

with

memberships as (

    select * from {{ ref('audience_memberships') }}

),

assignments as (

    select * from {{ ref('current_holdout_assignments') }}
    where experiment = 'global'
        and is_holdout

)

select memberships.*
from memberships
inner join assignments
    on memberships.person_id = assignments.person_id
where memberships.is_automated
    and not (memberships.is_holdout and memberships.holdout_group = 'global')
