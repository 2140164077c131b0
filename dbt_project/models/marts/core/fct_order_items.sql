with

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

final as (

    select
        ---------- ids
        order_items.order_id,
        cast(order_items.line_number as {{ dbt.type_int() }}) as line_number,
        orders.person_id,
        order_items.product_id,

        ---------- product
        coalesce(products.category, 'uncategorised') as category,
        coalesce(products.is_consumable, false) as is_consumable,
        cast(products.replenishment_days as {{ dbt.type_int() }}) as replenishment_days,

        ---------- amounts
        cast(order_items.quantity as {{ dbt.type_int() }}) as quantity,
        cast(order_items.unit_price as {{ dbt.type_numeric() }}) as unit_price,
        cast(order_items.discount as {{ dbt.type_numeric() }}) as discount_amount,
        cast(order_items.line_amount as {{ dbt.type_numeric() }}) as line_amount,

        ---------- order context
        orders.is_paid,
        orders.ordered_at

    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    left join products
        on order_items.product_id = products.product_id

)

select * from final
