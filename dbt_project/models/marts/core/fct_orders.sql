with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

refunds as (

    select * from {{ ref('stg_shop__refunds') }}

),

order_persons as (

    select
        record_id as order_id,
        person_id
    from {{ ref('int_records_persons') }}
    where record_source = 'order'

),

items_per_order as (

    select
        order_id,
        sum(quantity) as item_count
    from order_items
    group by order_id

),

refunds_per_order as (

    select
        order_id,
        sum(amount) as refunded_amount
    from refunds
    group by order_id

),

joined as (

    select
        ---------- ids
        orders.order_id,
        coalesce(
            order_persons.person_id, {{ unidentified_person_id('orders.order_id') }}
        ) as person_id,
        orders.customer_id,

        ---------- status
        orders.status,
        orders.status not in ('cancelled', 'pending') as is_paid,
        orders.is_guest_checkout,
        order_persons.person_id is null as is_unidentified,
        orders.discount_code is not null or orders.discount > 0 as has_discount,
        orders.discount_code,

        ---------- amounts
        orders.currency,
        orders.subtotal,
        orders.discount as discount_amount,
        orders.shipping as shipping_amount,
        orders.tax as tax_amount,
        orders.total as total_amount,
        coalesce(refunds_per_order.refunded_amount, 0) as refunded_amount,
        case
            when orders.status in ('cancelled', 'pending') then 0
            else orders.total - coalesce(refunds_per_order.refunded_amount, 0)
        end as net_revenue,
        coalesce(items_per_order.item_count, 0) as item_count,

        ---------- timestamps
        orders.ordered_at,
        cast(orders.ordered_at as date) as order_date

    from orders
    left join order_persons
        on orders.order_id = order_persons.order_id
    left join items_per_order
        on orders.order_id = items_per_order.order_id
    left join refunds_per_order
        on orders.order_id = refunds_per_order.order_id

),

paid_sequence as (

    select
        order_id,
        row_number() over (
            partition by person_id order by ordered_at, order_id
        ) as paid_order_number,
        lag(ordered_at) over (
            partition by person_id order by ordered_at, order_id
        ) as previous_paid_ordered_at
    from joined
    where is_paid

),

final as (

    select
        joined.order_id,
        joined.person_id,
        joined.customer_id,
        joined.status,
        joined.is_paid,
        joined.is_guest_checkout,
        joined.is_unidentified,
        joined.has_discount,
        joined.discount_code,
        joined.currency,
        cast(joined.subtotal as {{ dbt.type_numeric() }}) as subtotal,
        cast(joined.discount_amount as {{ dbt.type_numeric() }}) as discount_amount,
        cast(joined.shipping_amount as {{ dbt.type_numeric() }}) as shipping_amount,
        cast(joined.tax_amount as {{ dbt.type_numeric() }}) as tax_amount,
        cast(joined.total_amount as {{ dbt.type_numeric() }}) as total_amount,
        cast(joined.refunded_amount as {{ dbt.type_numeric() }}) as refunded_amount,
        cast(joined.net_revenue as {{ dbt.type_numeric() }}) as net_revenue,
        cast(joined.item_count as {{ dbt.type_int() }}) as item_count,
        cast(paid_sequence.paid_order_number as {{ dbt.type_int() }}) as paid_order_number,
        cast(
            {{ dbt.datediff('paid_sequence.previous_paid_ordered_at', 'joined.ordered_at', 'day') }}
            as {{ dbt.type_int() }}
        ) as days_since_previous_order,
        joined.ordered_at,
        joined.order_date
    from joined
    left join paid_sequence
        on joined.order_id = paid_sequence.order_id

)

select * from final
