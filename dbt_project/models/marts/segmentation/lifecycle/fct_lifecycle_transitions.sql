-- Lifecycle stage changes recorded by snap_customer_lifecycle: one row per person and
-- change (from_stage -> to_stage) at the build that saw it. A person's first recorded
-- stage has from_stage null and is_initial true (triggers usually skip those).

with

history as (

    select * from {{ ref('snap_customer_lifecycle') }}

),

sequenced as (

    select
        person_id,
        lifecycle_stage as to_stage,
        lag(lifecycle_stage) over (
            partition by person_id order by dbt_valid_from
        ) as from_stage,
        as_of_date,
        dbt_valid_from as transitioned_at
    from history

),

final as (

    select
        person_id,
        from_stage,
        to_stage,
        from_stage is null as is_initial,
        as_of_date,
        transitioned_at,
        cast(transitioned_at as date) as transition_date
    from sequenced
    where from_stage is null or from_stage <> to_stage

)

select * from final
