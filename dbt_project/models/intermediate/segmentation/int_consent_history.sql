-- Consent per person and channel over time: every opt-in / opt-out (consent records, plus
-- unsubscribes and spam complaints from the MAP as email opt-outs) with the interval it is
-- the latest one. Latest wins; on a tie in time an opt-out wins over an opt-in.

with

consents as (

    select * from {{ ref('stg_shop__consents') }}

),

stitched as (

    -- joined on (type, normalised value): cheaper than the concatenated identifier key
    select
        identifier_type,
        identifier_value,
        person_id
    from {{ ref('int_identifiers_stitched') }}
    where person_id is not null

),

email_events as (

    select * from {{ ref('int_person_email_signals') }}

),

consent_records as (

    select
        coalesce(by_account.person_id, by_email.person_id, by_phone.person_id) as person_id,
        consents.channel,
        consents.status,
        coalesce(consents.consent_source, 'unknown') as consent_source,
        consents.recorded_at
    from consents
    left join stitched as by_account
        on by_account.identifier_type = 'customer_id'
        and consents.customer_id = by_account.identifier_value
    left join stitched as by_email
        on by_email.identifier_type = 'email'
        and consents.email = by_email.identifier_value
    left join stitched as by_phone
        on by_phone.identifier_type = 'phone'
        and consents.phone = by_phone.identifier_value

),

map_opt_outs as (

    select
        person_id,
        'email' as channel,
        'opt_out' as status,
        'map_' || event_type as consent_source,
        occurred_at as recorded_at
    from email_events
    where event_type in ('unsubscribe', 'spam_complaint')

),

unioned as (

    select * from consent_records
    where person_id is not null
    union all
    select * from map_opt_outs

),

ordered as (

    select
        person_id,
        channel,
        status,
        consent_source,
        recorded_at as valid_from,
        lead(recorded_at) over (
            partition by person_id, channel
            order by recorded_at, case when status = 'opt_out' then 1 else 0 end
        ) as valid_to,
        row_number() over (
            partition by person_id, channel
            order by recorded_at desc, case when status = 'opt_out' then 0 else 1 end
        ) as recency_rank
    from unioned

),

final as (

    select
        person_id,
        channel,
        status,
        consent_source,
        valid_from,
        valid_to,
        recency_rank = 1 as is_current
    from ordered

)

select * from final
