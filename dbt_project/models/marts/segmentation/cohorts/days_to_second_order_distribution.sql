-- Distribution of days from the first to the second paid order among repeat customers:
-- customers per bucket, share and cumulative share.

with

orders as (

    select * from {{ ref('int_paid_orders_as_of') }}

),

sequenced as (

    select
        person_id,
        ordered_at,
        row_number() over (partition by person_id order by ordered_at, order_id) as order_number
    from orders

),

gaps as (

    select
        {{ days_between('min(ordered_at)', 'max(ordered_at)') }} as days_to_second_order
    from sequenced
    where order_number <= 2
    group by person_id
    having count(*) = 2

),

buckets as (

    select
        case
            when days_to_second_order < 8 then 1
            when days_to_second_order < 15 then 2
            when days_to_second_order < 31 then 3
            when days_to_second_order < 61 then 4
            when days_to_second_order < 91 then 5
            when days_to_second_order < 181 then 6
            when days_to_second_order < 366 then 7
            else 8
        end as bucket_order,
        days_to_second_order
    from gaps

),

per_bucket as (

    select
        bucket_order,
        count(*) as customers,
        avg(days_to_second_order) as average_days
    from buckets
    group by bucket_order

),

labels as (

    select
        1 as bucket_order,
        '0-7' as days_bucket
    union all
    select
        2 as bucket_order,
        '8-14' as days_bucket
    union all
    select
        3 as bucket_order,
        '15-30' as days_bucket
    union all
    select
        4 as bucket_order,
        '31-60' as days_bucket
    union all
    select
        5 as bucket_order,
        '61-90' as days_bucket
    union all
    select
        6 as bucket_order,
        '91-180' as days_bucket
    union all
    select
        7 as bucket_order,
        '181-365' as days_bucket
    union all
    select
        8 as bucket_order,
        '366+' as days_bucket

),

final as (

    select
        cast(labels.bucket_order as {{ dbt.type_int() }}) as bucket_order,
        labels.days_bucket,
        cast(coalesce(per_bucket.customers, 0) as {{ dbt.type_int() }}) as customers,
        cast(coalesce(per_bucket.customers, 0) as {{ type_double() }})
        / nullif(sum(per_bucket.customers) over (), 0) as customer_share,
        cast(sum(coalesce(per_bucket.customers, 0))
            over (
                order by labels.bucket_order rows between unbounded preceding and current row
            )
        as {{ type_double() }})
        / nullif(sum(per_bucket.customers) over (), 0) as cumulative_share,
        cast(per_bucket.average_days as {{ type_double() }}) as average_days
    from labels
    left join per_bucket
        on labels.bucket_order = per_bucket.bucket_order

)

select * from final
