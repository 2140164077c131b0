-- Hash-drawn assignments are reproducible: the stored bucket is the hash of
-- (salt, experiment, person_id) and is_holdout = bucket < percent x 100.

with

assignments as (

    select * from {{ ref('holdout_assignments') }}
    where assignment_method = 'hash'

)

select *
from assignments
where hash_bucket <> {{ hash_bucket(dbt.concat([
        'salt', "'|'", 'experiment', "'|'", 'person_id'])) }}
    or is_holdout <> (hash_bucket < holdout_percent * 100)
