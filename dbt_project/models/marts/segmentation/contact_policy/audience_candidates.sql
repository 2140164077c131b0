-- Every (person, audience) qualification now, with the contact-policy decisions (audit
-- table), in this order:
--   1. suppression (not contactable in this audience at all): no address; no email consent
--      (latest opt-in/opt-out wins; promotional only); hard or repeated soft bounce, spam
--      complaint, sunset, failed win-back (contact_suppressions; the last two for
--      promotional messages); open refund dispute; personal-outreach customer; the rule's
--      own verdict (price-only buyer in win-back); the same product promoted to the person
--      within product_repromotion_block_days (promotional);
--   2. priority: among the unsuppressed audiences transactional before promotional, then
--      audience_settings.priority (one flow at a time);
--   3. not now (promotional only): the frequency cap counts the messages sent in the last
--      frequency_cap_days plus those the flow will send in the next frequency_cap_days; a
--      cooldown after another flow's message (flow_cooldown_days); the RFM segment's
--      contact intensity per quarter (seeds/rfm_contact_policy.csv).
-- is_eligible rows are the ones audience_memberships keeps (holdouts are decided there).
-- offer_type: early_access (segments that get it instead of discounts), discount (the
-- segment allows it and ML purchase propensity is below discount_max_purchase_propensity:
-- no paying people who would buy anyway), otherwise no_discount.

with

settings as (

    select * from {{ ref('audience_settings') }}

),

entries as (

    select * from {{ ref('audience_entries') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

consents as (

    select * from {{ ref('int_consent_history') }}
    where is_current

),

suppressions as (

    select * from {{ ref('contact_suppressions') }}

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

rfm as (

    select * from {{ ref('customer_rfm') }}

),

rfm_policy as (

    select * from {{ ref('rfm_contact_policy') }}

),

scores as (

    {{ segmentation_ml_scores() }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

---------- today's qualifications: the audience rows that hold at the as-of point, one per
---------- (person, audience) - the earliest entry (e.g. the product that runs out first)
active as (

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
    where entries.step_at <= as_of.as_of_at
        and (entries.exited_at is null or entries.exited_at > as_of.as_of_at)

),

---------- the messages the flow will send within the cap window: this step and the later
---------- steps of the same entry that fall inside it
planned as (

    select
        active.person_id,
        active.audience,
        count(*) as planned_messages
    from active
    cross join as_of
    inner join entries
        on active.person_id = entries.person_id
        and active.audience = entries.audience
        and active.entered_at = entries.entered_at
        and (
            active.product_id = entries.product_id
            or (active.product_id is null and entries.product_id is null)
        )
    where active.entry_rank = 1
        and entries.step >= active.step
        and entries.step_at
        < {{ dbt.dateadd('day', var('frequency_cap_days'), 'as_of.as_of_at') }}
    group by active.person_id, active.audience

),

---------- contact-policy inputs per person
email_consent as (

    select
        person_id,
        status as email_consent_status
    from consents
    where channel = 'email'

),

person_suppressions as (

    -- the first reason in force per scope (all messages / promotional ones)
    select
        person_id,
        min(case when applies_to = 'all' then suppression_reason end) as all_reason,
        min(case when applies_to = 'promotional' then suppression_reason end)
            as promotional_reason
    from suppressions
    group by person_id

),

send_counts as (

    select
        recent_sends.person_id,
        sum(case
            when recent_sends.occurred_at
                >= {{ dbt.dateadd('day', -var('frequency_cap_days'), 'as_of.as_of_at') }}
                then 1
            else 0
        end) as recent_sends,
        sum(case
            when recent_sends.occurred_at
                >= {{ dbt.dateadd('day', -var('rfm_intensity_days'), 'as_of.as_of_at') }}
                then 1
            else 0
        end) as quarter_sends
    from recent_sends
    cross join as_of
    where recent_sends.occurred_at < as_of.as_of_at
    group by recent_sends.person_id

),

workflow_sends as (

    -- the flows that mailed the person within the cooldown
    select distinct
        recent_sends.person_id,
        recent_sends.workflow
    from recent_sends
    cross join as_of
    where recent_sends.occurred_at < as_of.as_of_at
        and recent_sends.occurred_at
        >= {{ dbt.dateadd('day', -var('flow_cooldown_days'), 'as_of.as_of_at') }}

),

cooling_down as (

    -- another flow mailed the person within the cooldown
    select distinct
        active.person_id,
        active.audience
    from active
    inner join workflow_sends
        on active.person_id = workflow_sends.person_id
        and active.audience <> workflow_sends.workflow
    where active.entry_rank = 1

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

    select distinct person_id from active
    where audience = 'personal_outreach'

),

promoted_products as (

    -- products of other entries that began within the block before this one
    select distinct
        active.person_id,
        active.audience
    from active
    cross join as_of
    inner join entries as earlier
        on active.person_id = earlier.person_id
        and active.product_id = earlier.product_id
        and active.entered_at > earlier.entered_at
    where active.entry_rank = 1
        and earlier.entered_at >= {{ dbt.dateadd(
            'day', -var('product_repromotion_block_days'), 'active.entered_at') }}
        and earlier.rule_suppression_reason is null

),

decided as (

    select
        active.*,
        settings.priority,
        settings.channel,
        settings.is_automated,
        settings.message_class,
        customers.email is not null as has_email_address,
        coalesce(email_consent.email_consent_status, 'none') as email_consent_status,
        coalesce(send_counts.recent_sends, 0) as recent_sends,
        coalesce(send_counts.quarter_sends, 0) as quarter_sends,
        coalesce(planned.planned_messages, 1) as planned_messages,
        rfm.rfm_segment,
        rfm_policy.max_promotional_per_quarter,
        case
            when rfm_policy.early_access then 'early_access'
            when coalesce(rfm_policy.discount_allowed, true)
                and scores.propensity_30d < {{ var('discount_max_purchase_propensity') }}
                then 'discount'
            else 'no_discount'
        end as offer_type,
        cooling_down.person_id is not null as has_other_flow_recently,
        case
            when not settings.is_automated then null
            when customers.email is null then 'no_email_address'
            when settings.message_class = 'promotional'
                and coalesce(email_consent.email_consent_status, 'none') <> 'opt_in'
                then 'no_email_consent'
            when person_suppressions.all_reason is not null then person_suppressions.all_reason
            when settings.message_class = 'promotional'
                and person_suppressions.promotional_reason is not null
                then person_suppressions.promotional_reason
            when refund_disputes.person_id is not null then 'open_refund_dispute'
            when outreach_persons.person_id is not null then 'personal_outreach'
            when active.rule_suppression_reason is not null then active.rule_suppression_reason
            when settings.message_class = 'promotional'
                and promoted_products.person_id is not null
                then 'product_recently_promoted'
        end as suppression_reason
    from active
    inner join settings
        on active.audience = settings.audience
    left join planned
        on active.person_id = planned.person_id
        and active.audience = planned.audience
    left join customers
        on active.person_id = customers.person_id
    left join email_consent
        on active.person_id = email_consent.person_id
    left join person_suppressions
        on active.person_id = person_suppressions.person_id
    left join send_counts
        on active.person_id = send_counts.person_id
    left join refund_disputes
        on active.person_id = refund_disputes.person_id
    left join outreach_persons
        on active.person_id = outreach_persons.person_id
    left join cooling_down
        on active.person_id = cooling_down.person_id
        and active.audience = cooling_down.audience
    left join promoted_products
        on active.person_id = promoted_products.person_id
        and active.audience = promoted_products.audience
    left join rfm
        on active.person_id = rfm.person_id
    left join rfm_policy
        on rfm.rfm_segment = rfm_policy.segment
    left join scores
        on active.person_id = scores.person_id
    where active.entry_rank = 1

),

gated as (

    select
        decided.*,
        decided.is_automated and decided.message_class = 'promotional'
        and decided.recent_sends + decided.planned_messages
        > {{ var('frequency_cap_messages') }} as is_frequency_capped,
        decided.is_automated and decided.message_class = 'promotional'
        and decided.has_other_flow_recently as is_in_cooldown,
        decided.is_automated and decided.message_class = 'promotional'
        and coalesce(
            decided.quarter_sends + decided.planned_messages
            > decided.max_promotional_per_quarter,
            false
        ) as is_intensity_capped
    from decided

),

prioritised as (

    select
        gated.*,
        case
            when gated.suppression_reason is null then row_number() over (
                    partition by gated.person_id, gated.suppression_reason is null
                    order by
                        case when gated.message_class = 'transactional' then 0 else 1 end,
                        gated.priority, gated.entered_at
                )
        end as priority_rank
    from gated

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
        message_class,
        has_email_address,
        email_consent_status,
        suppression_reason is not null as is_suppressed,
        suppression_reason,
        cast(priority_rank as {{ dbt.type_int() }}) as priority_rank,
        coalesce(priority_rank = 1, false) as is_top_priority,
        cast(recent_sends as {{ dbt.type_int() }}) as recent_sends,
        cast(planned_messages as {{ dbt.type_int() }}) as planned_messages,
        is_frequency_capped,
        is_in_cooldown,
        cast(quarter_sends as {{ dbt.type_int() }}) as quarter_sends,
        rfm_segment,
        is_intensity_capped,
        suppression_reason is null
        and priority_rank = 1
        and not is_frequency_capped
        and not is_in_cooldown
        and not is_intensity_capped as is_eligible,
        offer_type,
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
