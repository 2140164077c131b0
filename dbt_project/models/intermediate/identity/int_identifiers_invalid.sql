-- Identifier values that were written on a record but are not usable identifiers once
-- normalised (an email without a domain, a phone like '000000000'): normalisation nulls
-- them, so they never reach the identity graph. Reported in identity_excluded_identifiers.

with

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

consents as (

    select * from {{ ref('stg_shop__consents') }}

),

events as (

    select * from {{ ref('stg_shop__events') }}

),

nulled as (

    select 'email' as identifier_type, email_as_written as identifier_value, created_at as seen_at
    from customers
    where email_as_written is not null and email is null
    union all
    select 'phone', phone_as_written, created_at
    from customers
    where phone_as_written is not null and phone is null
    union all
    select 'email', email_as_written, ordered_at
    from orders
    where email_as_written is not null and email is null
    union all
    select 'phone', phone_as_written, ordered_at
    from orders
    where phone_as_written is not null and phone is null
    union all
    select 'email', email_as_written, recorded_at
    from consents
    where email_as_written is not null and email is null
    union all
    select 'phone', phone_as_written, recorded_at
    from consents
    where phone_as_written is not null and phone is null
    union all
    select 'email', email_as_written, occurred_at
    from events
    where email_as_written is not null and email is null

),

final as (

    select
        {{ dbt.concat(['identifier_type', "':'", 'identifier_value']) }} as identifier_key,
        identifier_type,
        identifier_value,
        case identifier_type
            when 'email' then 'invalid: not an email address (needs one @ and a domain)'
            else 'invalid: not a phone number (8 to 15 digits with the country code)'
        end as exclusion_reason,
        count(*) as record_count,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at
    from nulled
    group by identifier_type, identifier_value

)

select * from final
