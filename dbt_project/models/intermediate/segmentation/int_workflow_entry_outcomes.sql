-- One row per reachable workflow entry with its experiment group and what happened in the
-- lift window after entry (audience_settings.lift_window_days or var lift_window_days):
-- converted (any paid order), orders, net revenue, and the part of that revenue credited
-- to this workflow by last-touch attribution.

with

entries as (

    select * from {{ ref('fct_workflow_entries') }}
    where is_reachable

),

assignments as (

    select * from {{ ref('current_holdout_assignments') }}

),

settings as (

    select * from {{ ref('audience_settings') }}

),

orders as (

    select * from {{ ref('int_paid_orders_as_of') }}

),

last_touch as (

    select * from {{ ref('int_order_last_touch') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

windowed as (

    select
        entries.person_id,
        entries.workflow,
        entries.entered_at,
        entries.entry_week,
        coalesce(settings.lift_window_days, {{ var('lift_window_days') }}) as window_days,
        {{ add_days('entries.entered_at',
            'coalesce(settings.lift_window_days, ' ~ var('lift_window_days') ~ ')') }}
            as window_end_at,
        case
            when global_holdout.is_holdout then 'global_holdout'
            when audience_holdout.is_holdout then 'holdout'
            else 'treatment'
        end as experiment_group
    from entries
    inner join settings
        on entries.workflow = settings.audience
    inner join assignments as audience_holdout
        on entries.person_id = audience_holdout.person_id
        and entries.workflow = audience_holdout.experiment
    left join assignments as global_holdout
        on entries.person_id = global_holdout.person_id
        and global_holdout.experiment = 'global'

),

outcomes as (

    select
        windowed.person_id,
        windowed.workflow,
        windowed.entered_at,
        count(orders.order_id) as orders_in_window,
        coalesce(sum(orders.net_revenue), 0) as revenue_in_window,
        coalesce(sum(case when last_touch.attributed_workflow = windowed.workflow
                then orders.net_revenue
        end), 0) as last_touch_revenue,
        sum(case when last_touch.attributed_workflow = windowed.workflow then 1 else 0 end)
            as last_touch_orders
    from windowed
    left join orders
        on windowed.person_id = orders.person_id
        and windowed.entered_at < orders.ordered_at
        and windowed.window_end_at >= orders.ordered_at
    left join last_touch
        on orders.order_id = last_touch.order_id
    group by windowed.person_id, windowed.workflow, windowed.entered_at

),

final as (

    select
        windowed.person_id,
        windowed.workflow,
        windowed.entered_at,
        windowed.entry_week,
        windowed.experiment_group,
        cast(windowed.window_days as {{ dbt.type_int() }}) as window_days,
        windowed.window_end_at,
        windowed.window_end_at <= as_of.as_of_at as is_window_complete,
        outcomes.orders_in_window > 0 as has_converted,
        cast(outcomes.orders_in_window as {{ dbt.type_int() }}) as orders_in_window,
        cast(outcomes.revenue_in_window as {{ type_double() }}) as revenue_in_window,
        cast(outcomes.last_touch_orders as {{ dbt.type_int() }}) as last_touch_orders,
        cast(outcomes.last_touch_revenue as {{ type_double() }}) as last_touch_revenue
    from windowed
    cross join as_of
    inner join outcomes
        on windowed.person_id = outcomes.person_id
        and windowed.workflow = outcomes.workflow
        and windowed.entered_at = outcomes.entered_at

)

select * from final
