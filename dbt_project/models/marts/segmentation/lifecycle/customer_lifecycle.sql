-- One lifecycle stage per person as of the as-of point (rules in vars, docs/segmentation.md):
--   prospect  no paid order
--   new       a single order placed within lifecycle_new_days
--   one_time  a single order, not yet lapsed
--   lapsed    silent longer than lifecycle_lapsed_days (and, for repeat buyers, longer
--             than lifecycle_lapsed_cadence_multiple x their own cadence)
--   at_risk   repeat buyer silent longer than lifecycle_at_risk_min_days and
--             lifecycle_at_risk_cadence_multiple x their own cadence
--   vip       value (top vip_top_share by trailing-12-month net revenue) and regularity
--             (vip_min_orders_12m orders in 12 months, cadence_cv <= vip_max_gap_cv)
--   regular   any other repeat buyer
-- Precedence: prospect, lapsed, at_risk, vip, regular, new, one_time.

with

persons as (

    select person_id from {{ ref('dim_customers') }}

),

stats as (

    select * from {{ ref('int_person_order_stats') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

value_ranked as (

    select
        person_id,
        row_number() over (order by net_revenue_12m desc, person_id) as value_rank,
        count(*) over () as buyers_12m
    from stats
    where net_revenue_12m > 0

),

thresholds as (

    select
        stats.*,
        greatest(
            {{ var('lifecycle_at_risk_min_days') }},
            coalesce(stats.cadence_days, 0) * {{ var('lifecycle_at_risk_cadence_multiple') }}
        ) as at_risk_after_days,
        greatest(
            {{ var('lifecycle_lapsed_days') }},
            coalesce(stats.cadence_days, 0) * {{ var('lifecycle_lapsed_cadence_multiple') }}
        ) as lapsed_after_days,
        coalesce(
            value_ranked.value_rank <= greatest(
                1, ceil({{ var('vip_top_share') }} * value_ranked.buyers_12m)
            ),
            false
        ) as is_top_value,
        coalesce(
            value_ranked.value_rank <= greatest(
                1, ceil({{ var('personal_outreach_top_share') }} * value_ranked.buyers_12m)
            ),
            false
        ) as is_personal_outreach
    from stats
    left join value_ranked
        on stats.person_id = value_ranked.person_id

),

flagged as (

    select
        *,
        is_top_value
        and orders_12m >= {{ var('vip_min_orders_12m') }}
        and coalesce(cadence_cv, 0) <= {{ var('vip_max_gap_cv') }} as is_vip
    from thresholds

),

final as (

    select
        persons.person_id,
        as_of.as_of_date,
        case
            when flagged.person_id is null then 'prospect'
            when flagged.orders_count = 1
                and flagged.days_since_first_order <= {{ var('lifecycle_new_days') }} then 'new'
            when flagged.days_since_last_order > flagged.lapsed_after_days then 'lapsed'
            when flagged.orders_count = 1 then 'one_time'
            when flagged.days_since_last_order > flagged.at_risk_after_days then 'at_risk'
            when flagged.is_vip then 'vip'
            else 'regular'
        end as lifecycle_stage,
        coalesce(flagged.is_vip, false) as is_vip,
        coalesce(flagged.is_personal_outreach, false) as is_personal_outreach,
        cast(coalesce(flagged.orders_count, 0) as {{ dbt.type_int() }}) as orders_count,
        cast(coalesce(flagged.orders_12m, 0) as {{ dbt.type_int() }}) as orders_12m,
        cast(coalesce(flagged.net_revenue_12m, 0) as {{ dbt.type_numeric() }})
            as net_revenue_12m,
        flagged.days_since_first_order,
        flagged.days_since_last_order,
        cast(flagged.cadence_days as {{ type_double() }}) as cadence_days,
        cast(flagged.cadence_cv as {{ type_double() }}) as cadence_cv,
        cast(flagged.at_risk_after_days as {{ type_double() }}) as at_risk_after_days,
        cast(flagged.lapsed_after_days as {{ type_double() }}) as lapsed_after_days,
        flagged.last_order_at,
        flagged.last_order_category
    from persons
    cross join as_of
    left join flagged
        on persons.person_id = flagged.person_id

)

select * from final
