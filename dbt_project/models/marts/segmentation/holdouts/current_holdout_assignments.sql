-- The assignments in force: current salt, persons that still exist (ids merged away keep
-- their rows in holdout_assignments for history). One row per (person, experiment).

with

assignments as (

    select * from {{ ref('holdout_assignments') }}
    where salt = '{{ var("holdout_salt") }}'

),

customers as (

    select person_id from {{ ref('dim_customers') }}

),

final as (

    select assignments.*
    from assignments
    inner join customers
        on assignments.person_id = customers.person_id

)

select * from final
