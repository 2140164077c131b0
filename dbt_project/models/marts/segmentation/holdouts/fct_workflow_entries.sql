-- Every entry of a person into an automated workflow's audience, past and present: the
-- rule-based audiences are replayed over the whole order/event history by the same entry
-- rules as their audience models (second-purchase nurture, replenishment due, cart
-- abandonment, win-back; entry_source 'reconstructed'), and every qualification the
-- warehouse has recorded (audience_membership_history, this build's and earlier ones';
-- 'audience_history') is added. is_reachable: the person had an email address and the
-- email consent in force at entry was an opt-in (the lift model measures those entries).

with

orders as (

    select * from {{ ref('int_paid_orders_as_of') }}

),

order_items as (

    select * from {{ ref('fct_order_items') }}

),

cart_events as (

    select * from {{ ref('int_person_cart_events') }}
    where event_type = 'add_to_cart'

),

audience_history as (

    select * from {{ ref('audience_membership_history') }}

),

consents as (

    select * from {{ ref('int_consent_history') }}
    where channel = 'email'

),

customers as (

    select * from {{ ref('dim_customers') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

sequenced_orders as (

    select
        person_id,
        order_id,
        ordered_at,
        net_revenue,
        has_discount,
        row_number() over (partition by person_id order by ordered_at, order_id) as order_number,
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
    from orders

),

---------- second-purchase nurture: nurture_days_min after a first order not yet repeated
nurture_entries as (

    select
        person_id,
        'second_purchase_nurture' as workflow,
        {{ dbt.dateadd('day', var('nurture_days_min'), 'ordered_at') }} as entered_at
    from sequenced_orders
    where order_number = 1
        and (
            next_ordered_at is null
            or next_ordered_at >= {{ dbt.dateadd('day', var('nurture_days_min'), 'ordered_at') }}
        )

),

---------- replenishment due: replenishment_days_before_max before each expected run-out
consumable_purchases as (

    select
        order_items.person_id,
        order_items.product_id,
        order_items.ordered_at,
        cast({{ dbt.dateadd('day', -var('replenishment_days_before_max'),
            'cast(' ~ dbt.dateadd('day', 'order_items.replenishment_days * order_items.quantity',
                'order_items.ordered_at') ~ ' as date)') }} as {{ type_timestamptz() }})
            as entered_at,
        lead(order_items.ordered_at) over (
            partition by order_items.person_id, order_items.product_id
            order by order_items.ordered_at, order_items.order_id
        ) as next_purchased_at
    from order_items
    cross join as_of
    where order_items.is_paid
        and order_items.is_consumable
        and order_items.replenishment_days > 0
        and order_items.ordered_at < as_of.as_of_at

),

replenishment_entries as (

    -- distinct: purchases on different days can run out on the same date
    select distinct
        person_id,
        'replenishment_due' as workflow,
        entered_at
    from consumable_purchases
    where entered_at > ordered_at
        and (next_purchased_at is null or next_purchased_at >= entered_at)

),

---------- cart abandonment: an add-to-cart followed by nothing (no other add, no paid
---------- order) for the first step - one pass over the person's carts and orders
cart_and_orders as (

    select
        person_id,
        occurred_at as happened_at,
        1 as is_cart
    from cart_events
    union all
    select
        person_id,
        ordered_at as happened_at,
        0 as is_cart
    from orders

),

cart_sequence as (

    select
        person_id,
        happened_at,
        is_cart,
        lead(happened_at) over (
            partition by person_id order by happened_at, is_cart
        ) as next_happened_at
    from cart_and_orders

),

cart_entries as (

    select distinct
        person_id,
        'cart_abandonment' as workflow,
        {{ dbt.dateadd('hour', var('cart_step_hours')[0], 'happened_at') }} as entered_at
    from cart_sequence
    where is_cart = 1
        and (
            next_happened_at is null
            or next_happened_at > {{ dbt.dateadd(
                'hour', var('cart_step_hours')[0], 'happened_at') }}
        )

),

---------- win-back: winback_days after an order not followed by another, if worth it
winback_entries as (

    select
        person_id,
        'winback' as workflow,
        {{ dbt.dateadd('day', var('winback_days'), 'ordered_at') }} as entered_at
    from sequenced_orders
    where (
        next_ordered_at is null
        or next_ordered_at > {{ dbt.dateadd('day', var('winback_days'), 'ordered_at') }}
    )
    and (cumulative_net_revenue >= {{ var('winback_min_net_revenue') }} or order_number >= 2)
    and cast(cumulative_discounted_orders as {{ type_double() }}) / order_number
    < {{ var('price_only_discount_share') }}

),

reconstructed as (

    select
        *,
        'reconstructed' as entry_source
    from nurture_entries
    union all
    select
        *,
        'reconstructed' as entry_source
    from replenishment_entries
    union all
    select
        *,
        'reconstructed' as entry_source
    from cart_entries
    union all
    select
        *,
        'reconstructed' as entry_source
    from winback_entries

),

recorded_entries as (

    select
        person_id,
        audience as workflow,
        entered_at,
        'audience_history' as entry_source
    from audience_history

),

recorded_only as (

    -- audience history rows the replay does not already have
    select recorded_entries.*
    from recorded_entries
    where not exists (
            select 1
            from reconstructed
            where reconstructed.person_id = recorded_entries.person_id
                and reconstructed.workflow = recorded_entries.workflow
                and reconstructed.entered_at = recorded_entries.entered_at
        )

),

deduplicated as (

    select
        unioned.person_id,
        unioned.workflow,
        cast(unioned.entered_at as {{ type_timestamptz() }}) as entered_at,
        unioned.entry_source
    from (
        select * from reconstructed
        union all
        select * from recorded_only
    ) as unioned
    cross join as_of
    where unioned.entered_at < as_of.as_of_at

),

final as (

    select
        deduplicated.person_id,
        deduplicated.workflow,
        deduplicated.entered_at,
        cast({{ dbt.date_trunc('week', 'deduplicated.entered_at') }} as date) as entry_week,
        deduplicated.entry_source,
        customers.email is not null and consents.status is not null as is_reachable
    from deduplicated
    left join customers
        on deduplicated.person_id = customers.person_id
    left join consents
        on deduplicated.person_id = consents.person_id
        and consents.status = 'opt_in'
        and deduplicated.entered_at >= consents.valid_from
        and (consents.valid_to is null or deduplicated.entered_at < consents.valid_to)

)

select * from final
