-- Reason-coded win-back: customers silent winback_days..winback_max_days and worth winning
-- back (net revenue >= winback_min_net_revenue, or a repeat buyer). Reason, first match:
--   bad_experience   a refund with a bad-experience reason (refund_dispute_reasons)
--   stock_out        an out-of-stock product view after the last order
--                    (within winback_stockout_days)
--   lapsed_regular   a repeat buyer
--   lapsed_one_time  anyone else
-- Price-only buyers (discounted_order_share >= price_only_discount_share) are flagged;
-- the contact policy suppresses them.

with

stats as (

    select * from {{ ref('int_person_order_stats') }}

),

orders as (

    select * from {{ ref('int_paid_orders_as_of') }}

),

refunds as (

    select * from {{ ref('stg_shop__refunds') }}

),

cart_events as (

    select * from {{ ref('int_person_cart_events') }}

),

lapsed as (

    select *
    from stats
    where days_since_last_order between {{ var('winback_days') }} and {{ var('winback_max_days') }}
        and (net_revenue >= {{ var('winback_min_net_revenue') }} or orders_count >= 2)

),

bad_experiences as (

    select distinct orders.person_id
    from orders
    inner join refunds
        on orders.order_id = refunds.order_id
    where refunds.reason in {{ sql_list(var('refund_dispute_reasons')) }}

),

stock_outs as (

    select distinct lapsed.person_id
    from lapsed
    inner join cart_events
        on lapsed.person_id = cart_events.person_id
    where cart_events.event_type = 'view_item'
        and cart_events.occurred_at > lapsed.last_order_at
        and cart_events.occurred_at
        <= {{ dbt.dateadd('day', var('winback_stockout_days'), 'lapsed.last_order_at') }}

),

final as (

    select
        lapsed.person_id,
        'winback' as audience,
        {{ dbt.dateadd('day', var('winback_days'), 'lapsed.last_order_at') }} as entered_at,
        case
            when bad_experiences.person_id is not null then 'bad_experience'
            when stock_outs.person_id is not null then 'stock_out'
            when lapsed.orders_count >= 2 then 'lapsed_regular'
            else 'lapsed_one_time'
        end as entry_reason,
        case
            when bad_experiences.person_id is not null then 'bad_experience'
            when stock_outs.person_id is not null then 'stock_out'
            when lapsed.orders_count >= 2 then 'lapsed_regular'
            else 'lapsed_one_time'
        end as winback_reason,
        lapsed.discounted_order_share >= {{ var('price_only_discount_share') }}
            as is_price_only_buyer,
        lapsed.days_since_last_order as days_silent,
        lapsed.orders_count,
        lapsed.net_revenue,
        lapsed.last_order_category
    from lapsed
    left join bad_experiences
        on lapsed.person_id = bad_experiences.person_id
    left join stock_outs
        on lapsed.person_id = stock_outs.person_id

)

select * from final
