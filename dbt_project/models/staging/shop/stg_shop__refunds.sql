with

source as (

    select * from {{ shop_relation('refunds') }}

),

renamed as (

    select
        ---------- ids
        cast(order_id as {{ dbt.type_string() }}) as order_id,

        ---------- refund
        amount,
        coalesce(lower(nullif(trim(reason), '')), 'unknown') as reason,

        ---------- timestamps
        refunded_at

    from source

)

select * from renamed
