-- Every device (anonymous id) that belongs to a person: the identity graph's devices, plus
-- devices that identified themselves (login, signup, purchase) after the graph was last
-- built. The hourly cart path does not rebuild the graph (that is the daily build's work),
-- yet a visitor who logs in at 10:00 on a new phone and leaves a cart at 10:05 must get the
-- 11:05 reminder. Such a new device takes the person of the account or email it identified
-- with when that is exactly one person; anything else - a device the graph already knows
-- (usable or excluded), an account the graph has not seen, two persons - waits for the next
-- graph build, which applies every stitching rule.

with

identifiers as (

    select * from {{ ref('int_identifiers_stitched') }}

),

events as (

    select * from {{ ref('stg_shop__events') }}

),

graph_devices as (

    select
        identifier_value as anonymous_id,
        person_id
    from identifiers
    where identifier_type = 'anonymous_id'
        and person_id is not null

),

-- the same events the graph reads as identity records (int_identity_records)
identifying_events as (

    select distinct
        anonymous_id,
        customer_id,
        email
    from events
    where anonymous_id is not null
        and (customer_id is not null or email is not null)

),

new_device_links as (

    select
        identifying_events.anonymous_id,
        customer_ids.person_id
    from identifying_events
    inner join identifiers as customer_ids
        on customer_ids.identifier_type = 'customer_id'
        and identifying_events.customer_id = customer_ids.identifier_value
    where customer_ids.person_id is not null
    union all
    select
        identifying_events.anonymous_id,
        emails.person_id
    from identifying_events
    inner join identifiers as emails
        on emails.identifier_type = 'email'
        and identifying_events.email = emails.identifier_value
    where emails.person_id is not null

),

new_devices as (

    select
        new_device_links.anonymous_id,
        min(new_device_links.person_id) as person_id
    from new_device_links
    left join identifiers as graph_device
        on graph_device.identifier_type = 'anonymous_id'
        and new_device_links.anonymous_id = graph_device.identifier_value
    where graph_device.identifier_value is null
    group by new_device_links.anonymous_id
    having count(distinct new_device_links.person_id) = 1

),

final as (

    select
        anonymous_id,
        person_id,
        false as is_since_graph_build
    from graph_devices
    union all
    select
        anonymous_id,
        person_id,
        true as is_since_graph_build
    from new_devices

)

select * from final
