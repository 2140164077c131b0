-- Final audience membership (what reverse ETL syncs): one row per person who gets, or is
-- held out of, exactly one flow now - eligible in audience_candidates (consented, not
-- suppressed, top priority, under the frequency cap). is_holdout marks persons in the
-- global holdout (holdout_group 'global', no automated flow at all) or in the audience's
-- own holdout ('audience'); the destination must send nothing to them. Personal outreach
-- is not automated and has no holdout.

with

candidates as (

    select * from {{ ref('audience_candidates') }}
    where is_eligible

),

assignments as (

    select * from {{ ref('current_holdout_assignments') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

rfm as (

    select * from {{ ref('customer_rfm') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

final as (

    select
        ---------- membership
        candidates.person_id,
        candidates.audience,
        candidates.entered_at,
        candidates.entry_reason,
        candidates.step,
        candidates.step_at,
        candidates.priority,
        candidates.channel,
        candidates.is_automated,

        ---------- holdout
        coalesce(candidates.is_automated and (
            coalesce(global_holdout.is_holdout, false)
            or coalesce(audience_holdout.is_holdout, false)
        ), false) as is_holdout,
        case
            when not candidates.is_automated then null
            when global_holdout.is_holdout then 'global'
            when audience_holdout.is_holdout then 'audience'
        end as holdout_group,

        ---------- contact
        customers.email,
        customers.first_name,

        ---------- profile attributes
        lifecycle.lifecycle_stage,
        rfm.rfm_segment,

        ---------- message attributes
        candidates.category,
        candidates.days_silent,
        candidates.product_id,
        candidates.product_name,
        candidates.expected_run_out_date,
        candidates.cart_value,
        candidates.cart_value_tier,
        candidates.cart_step,
        candidates.winback_reason,

        as_of.as_of_date
    from candidates
    cross join as_of
    left join assignments as global_holdout
        on candidates.person_id = global_holdout.person_id
        and global_holdout.experiment = 'global'
    left join assignments as audience_holdout
        on candidates.person_id = audience_holdout.person_id
        and candidates.audience = audience_holdout.experiment
    left join customers
        on candidates.person_id = customers.person_id
    left join lifecycle
        on candidates.person_id = lifecycle.person_id
    left join rfm
        on candidates.person_id = rfm.person_id

)

select * from final
