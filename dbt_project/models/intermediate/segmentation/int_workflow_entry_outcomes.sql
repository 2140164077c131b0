-- One row per reachable workflow entry: its experiment group, its clean lift window and
-- what happened in it. The window starts at entry and ends lift_window_days later
-- (audience_settings, else var lift_window_days) or at the person's next entry into the
-- same flow, whichever comes first, so windows never overlap and each order counts once
-- per flow. is_measured: the entry came after the flow's launch (audience_settings.
-- launch_date; empty = before the data starts) and after the person's holdout assignments
-- were in force - only those entries were decided by the experiment (docs/segmentation.md,
-- "What lift measures").

with

all_entries as (

    -- every entry, reachable or not, so a window ends at any next entry of the flow
    select
        person_id,
        workflow,
        entered_at,
        entry_week,
        is_reachable,
        lead(entered_at) over (
            partition by person_id, workflow order by entered_at
        ) as next_entered_at
    from {{ ref('fct_workflow_entries') }}

),

entries as (

    select * from all_entries
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
        entries.next_entered_at,
        coalesce(settings.lift_window_days, {{ var('lift_window_days') }}) as window_days,
        {{ add_days('entries.entered_at',
            'coalesce(settings.lift_window_days, ' ~ var('lift_window_days') ~ ')') }}
            as full_window_end_at,
        cast(settings.launch_date as {{ type_timestamptz() }}) as launched_at,
        case
            when global_holdout.is_holdout then 'global_holdout'
            when audience_holdout.is_holdout then 'holdout'
            else 'treatment'
        end as experiment_group,
        -- a drawn assignment is a pure function of (salt, flow, person): the warehouse
        -- published it with the person's first entry after launch. An inherited one
        -- (identity merge) replaced the person's own draw when it was written.
        case
            when audience_holdout.assignment_method = 'hash' then null
            else audience_holdout.assigned_at
        end as audience_assignment_in_force_at,
        case
            when global_holdout.assignment_method = 'merge' then global_holdout.assigned_at
        end as global_assignment_in_force_at
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

clean_windows as (

    select
        *,
        case
            when next_entered_at < full_window_end_at then next_entered_at
            else full_window_end_at
        end as window_end_at,
        -- no launch date: launched before the data starts
        coalesce(entered_at >= launched_at, true)
        and coalesce(entered_at >= audience_assignment_in_force_at, true)
        and coalesce(entered_at >= global_assignment_in_force_at, true) as is_measured
    from windowed

),

outcomes as (

    -- orders in (entered_at, window_end_at]: windows of a flow are disjoint per person
    select
        clean_windows.person_id,
        clean_windows.workflow,
        clean_windows.entered_at,
        count(orders.order_id) as orders_in_window,
        coalesce(sum(orders.net_revenue), 0) as revenue_in_window,
        coalesce(sum(case when last_touch.attributed_workflow = clean_windows.workflow
                then orders.net_revenue
        end), 0) as last_touch_revenue,
        sum(case when last_touch.attributed_workflow = clean_windows.workflow then 1 else 0 end)
            as last_touch_orders
    from clean_windows
    left join orders
        on clean_windows.person_id = orders.person_id
        and clean_windows.entered_at < orders.ordered_at
        and clean_windows.window_end_at >= orders.ordered_at
    left join last_touch
        on orders.order_id = last_touch.order_id
    group by clean_windows.person_id, clean_windows.workflow, clean_windows.entered_at

),

final as (

    select
        clean_windows.person_id,
        clean_windows.workflow,
        clean_windows.entered_at,
        clean_windows.entry_week,
        clean_windows.experiment_group,
        cast(clean_windows.window_days as {{ dbt.type_int() }}) as window_days,
        clean_windows.window_end_at,
        coalesce(clean_windows.next_entered_at < clean_windows.full_window_end_at, false)
            as is_window_cut_by_next_entry,
        clean_windows.window_end_at <= as_of.as_of_at as is_window_complete,
        clean_windows.launched_at,
        clean_windows.is_measured,
        outcomes.orders_in_window > 0 as has_converted,
        cast(outcomes.orders_in_window as {{ dbt.type_int() }}) as orders_in_window,
        cast(outcomes.revenue_in_window as {{ type_double() }}) as revenue_in_window,
        cast(outcomes.last_touch_orders as {{ dbt.type_int() }}) as last_touch_orders,
        cast(outcomes.last_touch_revenue as {{ type_double() }}) as last_touch_revenue
    from clean_windows
    cross join as_of
    inner join outcomes
        on clean_windows.person_id = outcomes.person_id
        and clean_windows.workflow = outcomes.workflow
        and clean_windows.entered_at = outcomes.entered_at

)

select * from final
