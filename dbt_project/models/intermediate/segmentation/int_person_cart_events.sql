{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **replace_partitions_config('occurred_date')
    )
}}
-- Add-to-cart and product-view events by identified persons (through the device's
-- anonymous id), with the product's price: the cart, browse and stock-out rules read them.
-- Incremental: each build replaces the UTC days (occurred_date; a partition on Spark) from
-- the newest event it holds, less cart_events_lookback_hours for late arrivals, so the
-- hourly cart path reads only the last days. Devices are resolved by int_device_persons (a
-- device that logged in since the last identity build included), and events in the
-- replaced days are re-resolved on every build;
-- `dbt build --full-refresh --select int_person_cart_events` re-resolves the old ones.

with

events as (

    select * from {{ ref('stg_shop__events') }}

),

stitched as (

    select * from {{ ref('int_device_persons') }}

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
        events.occurred_at,
        {{ utc_date('events.occurred_at') }} as occurred_date
    from events
    inner join stitched
        on events.anonymous_id = stitched.anonymous_id
    left join products
        on events.product_id = products.product_id
    where events.event_type in ('add_to_cart', 'view_item')
    {% if is_incremental() -%}
        and events.occurred_at >= (
            select {{ utc_midnight(utc_date(
                dbt.dateadd('hour', -var('cart_events_lookback_hours'), 'max(occurred_at)')
            )) }}
            from {{ this }}
        )
    {%- endif %}

)

select * from final
