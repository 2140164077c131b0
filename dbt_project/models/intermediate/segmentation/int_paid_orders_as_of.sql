{{ config(materialized="view") }}

-- Paid orders (any status but cancelled) placed before the as-of point, with refunds as they
-- stood then: a refund issued after the as-of point is not subtracted yet, so an as-of
-- rebuild equals a build on the data of that day (tests/dbt/test_as_of_rebuild.py).

with

orders as (

    select * from {{ ref('fct_orders') }}

),

refunds as (

    select * from {{ ref('stg_shop__refunds') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

refunds_after_as_of as (

    select
        refunds.order_id,
        sum(refunds.amount) as refunded_amount
    from refunds
    cross join as_of
    where refunds.refunded_at >= as_of.as_of_at
    group by refunds.order_id

),

final as (

    select
        orders.order_id,
        orders.person_id,
        orders.customer_id,
        orders.status,
        orders.is_paid,
        orders.is_guest_checkout,
        orders.is_unidentified,
        orders.has_discount,
        orders.discount_code,
        orders.currency,
        orders.subtotal,
        orders.discount_amount,
        orders.shipping_amount,
        orders.tax_amount,
        orders.total_amount,
        cast(
            orders.refunded_amount - coalesce(later.refunded_amount, 0)
            as {{ dbt.type_numeric() }}
        ) as refunded_amount,
        cast(
            orders.net_revenue + coalesce(later.refunded_amount, 0) as {{ dbt.type_numeric() }}
        ) as net_revenue,
        orders.item_count,
        orders.paid_order_number,
        orders.days_since_previous_order,
        orders.ordered_at,
        orders.order_date
    from orders
    cross join as_of
    left join refunds_after_as_of as later
        on orders.order_id = later.order_id
    where orders.is_paid
        and orders.ordered_at < as_of.as_of_at

)

select * from final
