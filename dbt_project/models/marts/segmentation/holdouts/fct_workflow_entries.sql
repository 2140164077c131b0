-- Every entry of a person into an automated workflow's audience, past and present: the
-- audience rules replayed over the whole order/event history (audience_entries, the same
-- rules as today's audiences; entry_source 'reconstructed'), and every qualification the
-- warehouse has recorded (audience_membership_history, this build's and earlier ones';
-- 'audience_history') is added. is_reachable: the person had an email address and the
-- email consent in force at entry was an opt-in (the lift model measures those entries).

with

rule_entries as (

    select * from {{ ref('audience_entries') }}

),

settings as (

    select * from {{ ref('audience_settings') }}
    where is_automated

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

---------- every entry the rules replay (an entry's later steps are the same entry); a rule's
---------- own suppression (price-only buyers in win-back) means the flow never sends
reconstructed as (

    select distinct
        rule_entries.person_id,
        rule_entries.audience as workflow,
        rule_entries.entered_at,
        'reconstructed' as entry_source
    from rule_entries
    inner join settings
        on rule_entries.audience = settings.audience
    where rule_entries.rule_suppression_reason is null

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
