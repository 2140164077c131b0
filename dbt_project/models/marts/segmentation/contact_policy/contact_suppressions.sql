-- Who may not be contacted now and why (audit): one row per (person, reason) in force at the
-- as-of point, with the moment it began and what it applies to.
--   hard_bounce            a hard bounce ('hard_bounce', or 'bounce' of unknown class)   all
--   repeated_soft_bounce   soft_bounce_limit soft bounces within soft_bounce_window_days  all
--   spam_complaint         a spam complaint                                              all
--   sunset                 in the sunset step of unengaged_subscribers (re-permission
--                          went unanswered): silenced to protect deliverability    promotional
--   winback_failed         the win-back's last try ended without an order; lifted by
--                          the next order                                          promotional
-- audience_candidates applies them.

with

signals as (

    select * from {{ ref('int_person_email_signals') }}

),

entries as (

    select * from {{ ref('audience_entries') }}

),

stats as (

    select * from {{ ref('int_person_order_stats') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

map_events as (

    select
        signals.person_id,
        case
            when signals.event_type in ('bounce', 'hard_bounce') then 'hard_bounce'
            else signals.event_type
        end as suppression_reason,
        min(signals.occurred_at) as suppressed_since
    from signals
    cross join as_of
    where signals.event_type in ('bounce', 'hard_bounce', 'spam_complaint')
        and signals.occurred_at < as_of.as_of_at
    group by
        signals.person_id,
        case
            when signals.event_type in ('bounce', 'hard_bounce') then 'hard_bounce'
            else signals.event_type
        end

),

soft_bounces as (

    select
        signals.person_id,
        'repeated_soft_bounce' as suppression_reason,
        max(signals.occurred_at) as suppressed_since
    from signals
    cross join as_of
    where signals.event_type = 'soft_bounce'
        and signals.occurred_at < as_of.as_of_at
        and signals.occurred_at
        >= {{ dbt.dateadd('day', -var('soft_bounce_window_days'), 'as_of.as_of_at') }}
    group by signals.person_id
    having count(*) >= {{ var('soft_bounce_limit') }}

),

sunsets as (

    select
        entries.person_id,
        'sunset' as suppression_reason,
        min(entries.step_at) as suppressed_since
    from entries
    cross join as_of
    where entries.audience = 'unengaged_subscribers'
        and entries.entry_reason = 'sunset'
        and entries.step_at <= as_of.as_of_at
        and (entries.exited_at is null or entries.exited_at > as_of.as_of_at)
    group by entries.person_id

),

failed_winbacks as (

    -- the last try ran its course (no order ended it) and no order came since
    select
        entries.person_id,
        'winback_failed' as suppression_reason,
        max(entries.exited_at) as suppressed_since
    from entries
    cross join as_of
    inner join stats
        on entries.person_id = stats.person_id
    where entries.audience = 'winback'
        and entries.rule_suppression_reason is null
        and entries.exited_at <= as_of.as_of_at
        and entries.exited_at
        = {{ dbt.dateadd('day', var('winback_attempt_days'), 'entries.entered_at') }}
        and entries.reference_at = stats.last_order_at
    group by entries.person_id

),

unioned as (

    select
        *,
        'all' as applies_to
    from map_events
    union all
    select
        *,
        'all' as applies_to
    from soft_bounces
    union all
    select
        *,
        'promotional' as applies_to
    from sunsets
    union all
    select
        *,
        'promotional' as applies_to
    from failed_winbacks

),

final as (

    select
        person_id,
        suppression_reason,
        cast(suppressed_since as {{ type_timestamptz() }}) as suppressed_since,
        applies_to
    from unioned

)

select * from final
