-- Every record that carries identifiers, one row per record, identifiers normalised.
-- Web events only count when they tie a device to an account or email (login, signup,
-- purchase); a device that never identifies itself is a visitor, not a person.

with

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

events as (

    select * from {{ ref('stg_shop__events') }}

),

consents as (

    select * from {{ ref('stg_shop__consents') }}

),

customer_records as (

    select
        'customer' as record_source,
        customer_id as record_id,
        customer_id,
        email,
        phone,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        created_at as seen_at
    from customers

),

order_records as (

    select
        'order' as record_source,
        order_id as record_id,
        customer_id,
        email,
        phone,
        anonymous_id,
        ordered_at as seen_at
    from orders

),

event_records as (

    select
        'event' as record_source,
        min(event_id) as record_id,
        customer_id,
        email,
        cast(null as {{ dbt.type_string() }}) as phone,
        anonymous_id,
        min(occurred_at) as seen_at
    from events
    where anonymous_id is not null
        and (customer_id is not null or email is not null)
    group by anonymous_id, customer_id, email

),

consent_records as (

    select
        'consent' as record_source,
        {{ dbt.hash(dbt.concat([
            "coalesce(customer_id, '')", "'|'", "coalesce(email, '')", "'|'",
            "coalesce(phone, '')"])) }} as record_id,
        customer_id,
        email,
        phone,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        min(recorded_at) as seen_at
    from consents
    where customer_id is not null or email is not null or phone is not null
    group by customer_id, email, phone

),

unioned as (

    select * from customer_records
    union all
    select * from order_records
    union all
    select * from event_records
    union all
    select * from consent_records

),

final as (

    select
        record_source,
        record_id,
        customer_id,
        email,
        phone,
        anonymous_id,
        seen_at
    from unioned
    where customer_id is not null
        or email is not null
        or phone is not null
        or anonymous_id is not null

)

select * from final
