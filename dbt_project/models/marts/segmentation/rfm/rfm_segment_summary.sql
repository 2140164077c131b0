-- One row per RFM segment: customers, their share, net revenue and its share, and the
-- segment's average recency, frequency and monetary value.

with

rfm as (

    select * from {{ ref('customer_rfm') }}

),

segment_map as (

    select * from {{ ref('rfm_segments') }}

),

segments as (

    select
        segment,
        min(display_order) as display_order,
        min(description) as description
    from segment_map
    group by segment

),

per_segment as (

    select
        rfm_segment,
        count(*) as customers,
        sum(monetary) as net_revenue,
        avg(recency_days) as average_recency_days,
        avg(frequency) as average_frequency,
        avg(monetary) as average_monetary
    from rfm
    group by rfm_segment

),

totals as (

    select
        sum(customers) as customers,
        sum(net_revenue) as net_revenue
    from per_segment

),

final as (

    select
        segments.segment as rfm_segment,
        cast(segments.display_order as {{ dbt.type_int() }}) as display_order,
        segments.description,
        cast(coalesce(per_segment.customers, 0) as {{ dbt.type_int() }}) as customers,
        cast(coalesce(per_segment.customers, 0) as {{ type_double() }})
        / nullif(totals.customers, 0) as customer_share,
        cast(coalesce(per_segment.net_revenue, 0) as {{ dbt.type_numeric() }}) as net_revenue,
        cast(coalesce(per_segment.net_revenue, 0) as {{ type_double() }})
        / nullif(totals.net_revenue, 0) as revenue_share,
        cast(per_segment.average_recency_days as {{ type_double() }})
            as average_recency_days,
        cast(per_segment.average_frequency as {{ type_double() }}) as average_frequency,
        cast(per_segment.average_monetary as {{ type_double() }}) as average_monetary
    from segments
    cross join totals
    left join per_segment
        on segments.segment = per_segment.rfm_segment

)

select * from final
