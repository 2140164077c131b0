-- Last-touch attribution: each paid order's latest email click of the same person within
-- attribution_click_days before it, and that click's workflow. Not causal: a customer who
-- would have bought anyway is credited too (compare with fct_workflow_lift).

with

orders as (

    select * from {{ ref('int_paid_orders_as_of') }}

),

clicks as (

    select * from {{ ref('int_person_email_signals') }}
    where event_type = 'click'

),

ranked as (

    select
        orders.order_id,
        orders.person_id,
        orders.ordered_at,
        orders.net_revenue,
        clicks.workflow,
        clicks.occurred_at as clicked_at,
        row_number() over (
            partition by orders.order_id order by clicks.occurred_at desc, clicks.event_id desc
        ) as click_rank
    from orders
    inner join clicks
        on orders.person_id = clicks.person_id
        and orders.ordered_at >= clicks.occurred_at
        and clicks.occurred_at
        > {{ dbt.dateadd('day', -var('attribution_click_days'), 'orders.ordered_at') }}

),

final as (

    select
        order_id,
        person_id,
        ordered_at,
        net_revenue,
        workflow as attributed_workflow,
        clicked_at
    from ranked
    where click_rank = 1

)

select * from final
