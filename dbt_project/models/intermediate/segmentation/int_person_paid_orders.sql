{{ config(materialized='view') }}

-- Paid orders (any status but cancelled or pending) with their person, fresh to the hour: the
-- person the identity build gave the order, else - an order placed since that build, which
-- fct_orders still counts as unidentified - the person of its account, email or device. The
-- cart and browse rules end an entry at the person's next order; without this, a cart bought
-- at 10:30 would still get its 11:05 reminder until the next daily build. A view: the hourly
-- path reads only the orders, it rebuilds neither the identity graph nor fct_orders.

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_persons as (

    select
        record_id as order_id,
        person_id
    from {{ ref('int_records_persons') }}
    where record_source = 'order'

),

identifiers as (

    select * from {{ ref('int_identifiers_stitched') }}
    where person_id is not null

),

devices as (

    select * from {{ ref('int_device_persons') }}

),

final as (

    select
        orders.order_id,
        coalesce(
            order_persons.person_id,
            customer_ids.person_id,
            emails.person_id,
            devices.person_id
        ) as person_id,
        orders.ordered_at
    from orders
    left join order_persons
        on orders.order_id = order_persons.order_id
    left join identifiers as customer_ids
        on customer_ids.identifier_type = 'customer_id'
        and orders.customer_id = customer_ids.identifier_value
    left join identifiers as emails
        on emails.identifier_type = 'email'
        and orders.email = emails.identifier_value
    left join devices
        on orders.anonymous_id = devices.anonymous_id
    where orders.status not in ('cancelled', 'pending')

)

select * from final
where person_id is not null
