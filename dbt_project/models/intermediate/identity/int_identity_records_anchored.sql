-- Each record's usable identifier keys (blocklisted and over-connected ones removed) and
-- its anchor: the first usable one in the order account, email, phone, device. A record's
-- usable identifiers are linked through its anchor, so the anchor's person is the record's.

with

records as (

    select * from {{ ref('int_identity_records') }}

),

excluded as (

    select identifier_key from {{ ref('int_identifiers_profiled') }}
    where not is_usable

),

keyed as (

    select
        record_source,
        record_id,
        seen_at,
        {{ identifier_key('customer_id', 'customer_id') }} as customer_id_key,
        {{ identifier_key('email', 'email') }} as email_key,
        {{ identifier_key('phone', 'phone') }} as phone_key,
        {{ identifier_key('anonymous_id', 'anonymous_id') }} as anonymous_id_key
    from records

),

usable as (

    select
        record_source,
        record_id,
        seen_at,
        case
            when customer_id_key not in (select excluded.identifier_key from excluded)
                then customer_id_key
        end as customer_id_key,
        case
            when email_key not in (select excluded.identifier_key from excluded) then email_key
        end as email_key,
        case
            when phone_key not in (select excluded.identifier_key from excluded) then phone_key
        end as phone_key,
        case
            when anonymous_id_key not in (select excluded.identifier_key from excluded)
                then anonymous_id_key
        end as anonymous_id_key
    from keyed

),

final as (

    select
        *,
        coalesce(customer_id_key, email_key, phone_key, anonymous_id_key) as anchor_key
    from usable

)

select * from final
