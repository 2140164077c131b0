-- Add-to-cart and out-of-stock product views by identified persons (through the device's
-- anonymous id in the identity graph), with the product's price.

with

events as (

    select * from {{ ref('stg_shop__events') }}

),

stitched as (

    select
        identifier_value as anonymous_id,
        person_id
    from {{ ref('int_identifiers_stitched') }}
    where person_id is not null
        and identifier_type = 'anonymous_id'

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

final as (

    select
        events.event_id,
        stitched.person_id,
        events.event_type,
        events.product_id,
        events.is_in_stock,
        products.price,
        events.occurred_at
    from events
    inner join stitched
        on events.anonymous_id = stitched.anonymous_id
    left join products
        on events.product_id = products.product_id
    where events.event_type = 'add_to_cart'
        or (events.event_type = 'view_item' and not events.is_in_stock)

)

select * from final
