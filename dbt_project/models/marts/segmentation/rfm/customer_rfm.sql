-- RFM per buyer as of the as-of point: recency (days since the last paid order), frequency
-- (paid orders) and monetary (net revenue after refunds), each scored 1-5 by its percent
-- rank (ties share a score; 5 = most recent / most orders / most revenue), and the named
-- segment from seeds/rfm_segments.csv by (recency score, frequency-monetary score).

with

stats as (

    select * from {{ ref('int_person_order_stats') }}

),

segment_map as (

    select * from {{ ref('rfm_segments') }}

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

scored as (

    select
        person_id,
        days_since_last_order as recency_days,
        orders_count as frequency,
        net_revenue as monetary,
        least(5, 1 + floor(5 * percent_rank() over (order by days_since_last_order desc)))
            as recency_score,
        least(5, 1 + floor(5 * percent_rank() over (order by orders_count)))
            as frequency_score,
        least(5, 1 + floor(5 * percent_rank() over (order by net_revenue)))
            as monetary_score
    from stats

),

with_fm as (

    select
        *,
        -- the mean of F and M, rounded up: (F + M + 1) div 2
        floor((frequency_score + monetary_score + 1) / 2) as fm_score
    from scored

),

final as (

    select
        with_fm.person_id,
        as_of.as_of_date,
        cast(with_fm.recency_days as {{ dbt.type_int() }}) as recency_days,
        cast(with_fm.frequency as {{ dbt.type_int() }}) as frequency,
        cast(with_fm.monetary as {{ dbt.type_numeric() }}) as monetary,
        cast(with_fm.recency_score as {{ dbt.type_int() }}) as recency_score,
        cast(with_fm.frequency_score as {{ dbt.type_int() }}) as frequency_score,
        cast(with_fm.monetary_score as {{ dbt.type_int() }}) as monetary_score,
        cast(with_fm.fm_score as {{ dbt.type_int() }}) as fm_score,
        cast(cast(with_fm.recency_score as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
        || cast(cast(with_fm.frequency_score as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
        || cast(cast(with_fm.monetary_score as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
            as rfm_cell,
        segment_map.segment as rfm_segment
    from with_fm
    cross join as_of
    left join segment_map
        on with_fm.recency_score between segment_map.recency_score_min
        and segment_map.recency_score_max
        and with_fm.fm_score between segment_map.fm_score_min and segment_map.fm_score_max

)

select * from final
