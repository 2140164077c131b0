{{ config(materialized="view") }}

-- Paid orders (any status but cancelled; net of refunds) placed before the as-of point.

with

orders as (

    select * from {{ ref('fct_orders') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

final as (

    select orders.*
    from orders
    cross join as_of
    where orders.is_paid
        and orders.ordered_at < as_of.as_of_at

)

select * from final
