{% macro audience_rule__winback(as_of_at) %}
{#- Win-back: winback_days after a paid order not followed by another, one last try of
    winback_attempt_days (then the contact policy suppresses the person until they order:
    contact_suppressions, winback_failed), if the customer is worth it: predicted 12-month
    LTV >= winback_min_predicted_ltv where an ML score exists (for the latest lapse only:
    scores are as of now), otherwise net revenue so far >= winback_min_net_revenue or a
    repeat buyer. Reason, first match: bad_experience (a refund with a
    refund_dispute_reasons reason), stock_out (an out-of-stock product view within
    winback_stockout_days after the order), lapsed_regular (repeat buyer),
    lapsed_one_time. Price-only buyers (discounted share >= price_only_discount_share) are
    flagged with a rule suppression: no discount chase. -#}
with

scores as (

    {{ segmentation_ml_scores() }}

),

orders as (

    select
        person_id,
        order_id,
        ordered_at,
        row_number() over (partition by person_id order by ordered_at, order_id)
            as order_number,
        lead(ordered_at) over (partition by person_id order by ordered_at, order_id)
            as next_ordered_at,
        sum(net_revenue) over (
            partition by person_id order by ordered_at, order_id
            rows between unbounded preceding and current row
        ) as cumulative_net_revenue,
        sum(case when has_discount then 1 else 0 end) over (
            partition by person_id order by ordered_at, order_id
            rows between unbounded preceding and current row
        ) as cumulative_discounted_orders
    from {{ ref('fct_orders') }}
    where is_paid
        and ordered_at < {{ as_of_at }}

),

lapses as (

    select
        orders.*,
        {{ dbt.dateadd('day', var('winback_days'), 'orders.ordered_at') }} as entered_at,
        {{ earlier_of('orders.next_ordered_at',
            dbt.dateadd('day', var('winback_days') + var('winback_attempt_days'),
                'orders.ordered_at')) }}
            as exited_at
    from orders
    left join scores
        on orders.person_id = scores.person_id
        and orders.next_ordered_at is null
    where case
        when scores.predicted_ltv_12m is not null
            then scores.predicted_ltv_12m >= {{ var('winback_min_predicted_ltv') }}
        else orders.cumulative_net_revenue >= {{ var('winback_min_net_revenue') }}
            or orders.order_number >= 2
    end

),

entries as (

    select * from lapses
    where entered_at < exited_at

),

bad_experiences as (

    select distinct
        entries.person_id,
        entries.order_id
    from entries
    inner join {{ ref('fct_orders') }} as refunded_orders
        on entries.person_id = refunded_orders.person_id
        and refunded_orders.ordered_at <= entries.ordered_at
    inner join {{ ref('stg_shop__refunds') }} as refunds
        on refunded_orders.order_id = refunds.order_id
    where refunds.reason in {{ sql_list(var('refund_dispute_reasons')) }}
        and refunds.refunded_at < {{ as_of_at }}

),

stock_outs as (

    select distinct
        entries.person_id,
        entries.order_id
    from entries
    inner join {{ ref('int_person_cart_events') }} as views
        on entries.person_id = views.person_id
    where views.event_type = 'view_item'
        and not views.is_in_stock
        and views.occurred_at > entries.ordered_at
        and views.occurred_at
        <= {{ dbt.dateadd('day', var('winback_stockout_days'), 'entries.ordered_at') }}
        and views.occurred_at < {{ as_of_at }}

),

categories as (

    select
        entries.order_id,
        order_items.category,
        row_number() over (
            partition by entries.order_id
            order by order_items.line_amount desc, order_items.category
        ) as category_rank
    from entries
    inner join {{ ref('fct_order_items') }} as order_items
        on entries.order_id = order_items.order_id

),

reasoned as (

    select
        entries.*,
        case
            when bad_experiences.order_id is not null then 'bad_experience'
            when stock_outs.order_id is not null then 'stock_out'
            when entries.order_number >= 2 then 'lapsed_regular'
            else 'lapsed_one_time'
        end as winback_reason,
        categories.category
    from entries
    left join bad_experiences
        on entries.order_id = bad_experiences.order_id
    left join stock_outs
        on entries.order_id = stock_outs.order_id
    left join categories
        on entries.order_id = categories.order_id
        and categories.category_rank = 1

)

select
    {{ audience_select('winback', {
        'person_id': 'reasoned.person_id',
        'entered_at': 'reasoned.entered_at',
        'exited_at': 'reasoned.exited_at',
        'entry_reason': 'reasoned.winback_reason',
        'reference_at': 'reasoned.ordered_at',
        'rule_suppression_reason': "case when cast(reasoned.cumulative_discounted_orders as "
            ~ type_double() ~ ") / reasoned.order_number >= "
            ~ var('price_only_discount_share') ~ " then 'price_only_buyer' end",
        'category': 'reasoned.category',
        'winback_reason': 'reasoned.winback_reason',
    }) }}
from reasoned
{% endmacro %}
