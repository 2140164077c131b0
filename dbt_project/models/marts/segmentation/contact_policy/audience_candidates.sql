-- Every (person, audience) qualification with the contact-policy decisions (audit table):
-- consent (latest opt-in/opt-out per channel wins), suppression (no address, unsubscribed,
-- hard bounce, spam complaint, open refund dispute, personal-outreach customer, price-only
-- buyer in win-back), audience priority (one flow per person) and the global frequency cap
-- (frequency_cap_messages 'sent' emails within frequency_cap_days). is_eligible rows are
-- the ones audience_memberships keeps (holdouts are decided there).

with

settings as (

    select * from {{ ref('audience_settings') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

consents as (

    select * from {{ ref('int_consent_history') }}
    where is_current

),

email_signals as (

    select * from {{ ref('int_person_email_signals') }}

),

recent_sends as (

    select * from {{ ref('int_person_recent_sends') }}

),

orders as (

    select * from {{ ref('int_paid_orders_as_of') }}

),

refunds as (

    select * from {{ ref('stg_shop__refunds') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

---------- today's qualifications: the audience rows that hold at the as-of point, one per
---------- (person, audience) - the earliest entry (e.g. the product that runs out first)
entries as (

    select * from {{ ref('audience_entries') }}
    where is_active

),

unioned as (

    select
        entries.person_id,
        entries.audience,
        entries.step,
        entries.entered_at,
        entries.step_at,
        entries.entry_reason,
        entries.rule_suppression_reason,
        entries.category,
        cast(
            floor({{ days_between('entries.reference_at', 'as_of.as_of_at') }})
            as {{ dbt.type_int() }}
        ) as days_silent,
        entries.product_id,
        entries.product_name,
        entries.expected_run_out_date,
        entries.cart_value,
        entries.cart_value_tier,
        entries.winback_reason,
        row_number() over (
            partition by entries.person_id, entries.audience
            order by entries.entered_at, entries.product_id
        ) as entry_rank
    from entries
    cross join as_of

),

---------- contact-policy inputs per person
email_consent as (

    select
        person_id,
        status as email_consent_status
    from consents
    where channel = 'email'

),

map_signals as (

    select
        email_signals.person_id,
        {{ dbt.bool_or("email_signals.event_type = 'bounce'") }} as has_hard_bounce,
        {{ dbt.bool_or("email_signals.event_type = 'spam_complaint'") }} as has_spam_complaint
    from email_signals
    cross join as_of
    where email_signals.occurred_at < as_of.as_of_at
    group by email_signals.person_id

),

send_counts as (

    select
        recent_sends.person_id,
        count(*) as recent_sends
    from recent_sends
    cross join as_of
    where recent_sends.occurred_at
        >= {{ dbt.dateadd('day', -var('frequency_cap_days'), 'as_of.as_of_at') }}
        and recent_sends.occurred_at < as_of.as_of_at
    group by recent_sends.person_id

),

refund_disputes as (

    select distinct orders.person_id
    from orders
    inner join refunds
        on orders.order_id = refunds.order_id
    cross join as_of
    where refunds.reason in {{ sql_list(var('refund_dispute_reasons')) }}
        and refunds.refunded_at < as_of.as_of_at
        and refunds.refunded_at
        >= {{ dbt.dateadd('day', -var('refund_dispute_days'), 'as_of.as_of_at') }}

),

outreach_persons as (

    select distinct person_id from entries
    where audience = 'personal_outreach'

),

decided as (

    select
        unioned.*,
        settings.priority,
        settings.channel,
        settings.is_automated,
        customers.email is not null as has_email_address,
        coalesce(email_consent.email_consent_status, 'none') as email_consent_status,
        coalesce(send_counts.recent_sends, 0) as recent_sends,
        case
            when not settings.is_automated then null
            when customers.email is null then 'no_email_address'
            when coalesce(email_consent.email_consent_status, 'none') <> 'opt_in'
                then 'no_email_consent'
            when coalesce(map_signals.has_hard_bounce, false) then 'hard_bounce'
            when coalesce(map_signals.has_spam_complaint, false) then 'spam_complaint'
            when refund_disputes.person_id is not null then 'open_refund_dispute'
            when outreach_persons.person_id is not null then 'personal_outreach'
            when unioned.rule_suppression_reason is not null
                then unioned.rule_suppression_reason
        end as suppression_reason
    from unioned
    inner join settings
        on unioned.audience = settings.audience
    left join customers
        on unioned.person_id = customers.person_id
    left join email_consent
        on unioned.person_id = email_consent.person_id
    left join map_signals
        on unioned.person_id = map_signals.person_id
    left join send_counts
        on unioned.person_id = send_counts.person_id
    left join refund_disputes
        on unioned.person_id = refund_disputes.person_id
    left join outreach_persons
        on unioned.person_id = outreach_persons.person_id
    where unioned.entry_rank = 1

),

prioritised as (

    select
        decided.*,
        case
            when decided.suppression_reason is null then row_number() over (
                    partition by decided.person_id, decided.suppression_reason is null
                    order by decided.priority, decided.entered_at
                )
        end as priority_rank
    from decided

),

final as (

    select
        person_id,
        audience,
        step,
        entered_at,
        step_at,
        entry_reason,
        cast(priority as {{ dbt.type_int() }}) as priority,
        channel,
        is_automated,
        has_email_address,
        email_consent_status,
        suppression_reason is not null as is_suppressed,
        suppression_reason,
        cast(priority_rank as {{ dbt.type_int() }}) as priority_rank,
        coalesce(priority_rank = 1, false) as is_top_priority,
        cast(recent_sends as {{ dbt.type_int() }}) as recent_sends,
        is_automated and recent_sends >= {{ var('frequency_cap_messages') }}
            as is_frequency_capped,
        suppression_reason is null
        and priority_rank = 1
        and not (is_automated and recent_sends >= {{ var('frequency_cap_messages') }})
            as is_eligible,
        category,
        days_silent,
        product_id,
        product_name,
        expected_run_out_date,
        cart_value,
        cart_value_tier,
        case when audience = 'cart_abandonment' then step end as cart_step,
        winback_reason,
        coalesce(rule_suppression_reason = 'price_only_buyer', false) as is_price_only_buyer
    from prioritised

)

select * from final
