-- Persons who asked to be erased: every identifier of an erasure request (email, customer
-- id) mapped to its person through identity stitching. Reverse ETL deletes them at every
-- platform (gdpr_delete syncs) and keeps them out of every other sync, so nobody comes back.
-- A request that matches no person is still erased by its email (person_id from the email).

with

requests as (

    select * from {{ ref('stg_shop__erasure_requests') }}

),

identifiers as (

    select * from {{ ref('int_identifiers_stitched') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

request_keys as (

    select
        request_id,
        email,
        requested_at,
        {{ identifier_key('email', 'email') }} as identifier_key
    from requests
    where email is not null

    union all

    select
        request_id,
        email,
        requested_at,
        {{ identifier_key('customer_id', 'customer_id') }} as identifier_key
    from requests
    where customer_id is not null

),

matched as (

    select
        coalesce(
            identifiers.person_id,
            {{ person_id(identifier_key('email', 'request_keys.email')) }}
        ) as person_id,
        request_keys.email as request_email,
        request_keys.requested_at
    from request_keys
    left join identifiers
        on request_keys.identifier_key = identifiers.identifier_key
    where identifiers.person_id is not null or request_keys.email is not null

),

final as (

    select
        matched.person_id,
        coalesce(min(customers.email), min(matched.request_email)) as email,
        min(matched.requested_at) as requested_at
    from matched
    left join customers
        on matched.person_id = customers.person_id
    group by matched.person_id

)

select * from final
