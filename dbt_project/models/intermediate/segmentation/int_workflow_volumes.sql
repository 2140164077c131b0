-- Per automated flow, what the shop's own history says before any lift is measured: how
-- many reachable entries it gets (trailing 364 days, per week and per month), its
-- baseline conversion without the flow (entries nobody treated: before launch, the
-- holdouts), the average value of an order in its windows, and the design effect of its
-- repeated entries (clustered by person). Read by workflow_lift_planner and
-- workflow_opportunities.

with

settings as (

    select * from {{ ref('audience_settings') }}
    where is_automated

),

outcomes as (

    select * from {{ ref('int_workflow_entry_outcomes') }}

),

orders as (

    select * from {{ ref('int_paid_orders_as_of') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

recent as (

    select outcomes.*
    from outcomes
    cross join as_of
    where outcomes.entered_at >= {{ dbt.dateadd('day', -364, 'as_of.as_of_at') }}

),

volumes as (

    select
        recent.workflow,
        count(*) as entries_364d,
        count(distinct recent.person_id) as persons_364d,
        -- a flow recorded only recently (no replayed history) covers fewer days
        greatest(7.0, {{ days_between('min(recent.entered_at)', 'max(as_of.as_of_at)') }})
            as days_covered
    from recent
    cross join as_of
    group by recent.workflow

),

per_person as (

    select
        workflow,
        person_id,
        count(*) as entries,
        sum(case when has_converted then 1 else 0 end) as conversions
    from recent
    where is_window_complete
    group by workflow, person_id

),

clustering as (

    select
        workflow,
        count(*) as persons,
        sum(entries) as entries,
        sum(conversions) as conversions,
        sum(entries * entries) as entries_sq,
        sum(conversions * conversions) as conversions_sq,
        sum(conversions * entries) as conversions_x_entries
    from per_person
    group by workflow

),

design_effects as (

    -- clustered variance of the conversion rate over the independent-entries variance
    select
        workflow,
        case when persons > 1 and conversions > 0 and conversions < entries
                then
                    greatest(
                        1.0,
                        (persons / (persons - 1.0))
                        * (
                            conversions_sq
                            - 2.0 * conversions * conversions_x_entries / entries
                            + (1.0 * conversions / entries) * conversions * entries_sq / entries
                        )
                        / (1.0 * entries * entries)
                        / (
                            (1.0 * conversions / entries)
                            * (1 - 1.0 * conversions / entries)
                            / entries
                        )
                    )
            else 1.0
        end as design_effect
    from clustering

),

baselines as (

    -- nobody was treated before launch, and the holdouts are never treated
    select
        workflow,
        count(*) as untreated_entries,
        avg(case when has_converted then 1.0 else 0.0 end) as untreated_conversion_rate
    from outcomes
    where is_window_complete
        and (not is_measured or experiment_group <> 'treatment')
    group by workflow

),

window_orders as (

    select
        outcomes.workflow,
        sum(outcomes.revenue_in_window) as revenue,
        sum(outcomes.orders_in_window) as orders
    from outcomes
    where outcomes.is_window_complete
    group by outcomes.workflow

),

shop as (

    select avg(orders.net_revenue) as average_order_value
    from orders
    cross join as_of
    where orders.ordered_at >= {{ dbt.dateadd('day', -364, 'as_of.as_of_at') }}

),

final as (

    select
        settings.audience as workflow,
        cast(coalesce(volumes.entries_364d, 0) as {{ dbt.type_int() }}) as entries_364d,
        cast(coalesce(volumes.persons_364d, 0) as {{ dbt.type_int() }}) as persons_364d,
        cast(
            coalesce(7.0 * volumes.entries_364d / volumes.days_covered, 0)
            as {{ type_double() }}
        ) as entries_per_week,
        cast(
            coalesce(30.4 * volumes.entries_364d / volumes.days_covered, 0)
            as {{ type_double() }}
        ) as entries_per_month,
        cast(baselines.untreated_conversion_rate as {{ type_double() }})
            as baseline_conversion_rate,
        cast(coalesce(baselines.untreated_entries, 0) as {{ dbt.type_int() }})
            as baseline_entries,
        cast(coalesce(design_effects.design_effect, 1.0) as {{ type_double() }})
            as design_effect,
        cast(coalesce(
            window_orders.revenue / nullif(window_orders.orders, 0),
            shop.average_order_value
        ) as {{ type_double() }}) as average_order_value
    from settings
    cross join shop
    left join volumes
        on settings.audience = volumes.workflow
    left join design_effects
        on settings.audience = design_effects.workflow
    left join baselines
        on settings.audience = baselines.workflow
    left join window_orders
        on settings.audience = window_orders.workflow

)

select * from final
