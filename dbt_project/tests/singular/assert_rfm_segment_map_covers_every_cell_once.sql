-- Every (recency score, frequency-monetary score) cell 1..5 x 1..5 must belong to exactly
-- one RFM segment in seeds/rfm_segments.csv. Returns the cells that do not.

with

segment_map as (

    select * from {{ ref('rfm_segments') }}

),

scores as (

    select 1 as score union all select 2 union all select 3 union all select 4 union all select 5

),

cells as (

    select
        recency.score as recency_score,
        fm.score as fm_score
    from scores as recency
    cross join scores as fm

),

matches as (

    select
        cells.recency_score,
        cells.fm_score,
        count(segment_map.segment) as segments
    from cells
    left join segment_map
        on cells.recency_score between segment_map.recency_score_min
            and segment_map.recency_score_max
        and cells.fm_score between segment_map.fm_score_min and segment_map.fm_score_max
    group by cells.recency_score, cells.fm_score

)

select * from matches where segments <> 1
