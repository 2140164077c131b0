with

source as (

    select * from {{ shop_relation('order_items') }}

),

renamed as (

    select
        ---------- ids
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        line_number,
        product_id,

        ---------- amounts
        quantity,
        unit_price,
        coalesce(discount, 0) as discount,
        quantity * unit_price - coalesce(discount, 0) as line_amount

    from source

)

select * from renamed
