-- The cutoff dates that features are computed as of. Default: the cutoff of the as-of date
-- (var as_of_date + 1 day, else the day after the last order) and every
-- ml_cutoff_interval_days before it, ml_cutoff_count in all, keeping only cutoffs with ml_min_history_days of history before
-- them. var ml_cutoffs (a list of dates) replaces the schedule. The latest cutoff is the
-- scoring cutoff; the earlier ones, whose label windows have (partly) passed, train and
-- backtest the models.

{%- set explicit_cutoffs = var('ml_cutoffs', []) %}
{%- set as_of = var('as_of_date', none) %}
{%- set interval_days = var('ml_cutoff_interval_days', 92) %}
{#- as_of_date is inclusive; the cutoff is the next midnight (exclusive) -#}
{%- set as_of_sql = "cast('" ~ as_of ~ "' as date)" %}
{%- set data_end_sql = "cast(" ~ dbt.dateadd('day', 1, as_of_sql) ~ " as date)" if as_of
    else "cast(timezone('UTC', max(ordered_at)) as date) + 1" %}
{%- set cutoff_list = "['" ~ (explicit_cutoffs | join("', '")) ~ "']" %}

with

orders as (

    select * from {{ ref('fct_orders') }}

),

bounds as (

    select
        cast(timezone('UTC', min(ordered_at)) as date) as data_start_date,
        {{ data_end_sql }} as data_end_date
    from orders

),

scheduled as (

    {% if explicit_cutoffs | length > 0 %}
        select unnest(cast({{ cutoff_list }} as date [])) as cutoff_date
    {% else %}
        select
            cast(
                bounds.data_end_date - cast(steps.step * {{ interval_days }} as integer) as date
            ) as cutoff_date
        from bounds
        cross join range(0, {{ var('ml_cutoff_count', 11) }}) as steps (step)
    {% endif %}

),

final as (

    select
        scheduled.cutoff_date,
        timezone('UTC', cast(scheduled.cutoff_date as timestamp)) as cutoff_at,
        cast(epoch(timezone('UTC', cast(scheduled.cutoff_date as timestamp))) / 86400 as bigint)
            as cutoff_day_number,
        bounds.data_start_date,
        bounds.data_end_date,
        cast(bounds.data_end_date - scheduled.cutoff_date as integer) as days_observed_after,
        scheduled.cutoff_date = max(scheduled.cutoff_date) over () as is_scoring_cutoff
    from scheduled
    cross join bounds
    where scheduled.cutoff_date <= bounds.data_end_date
        and scheduled.cutoff_date
        >= bounds.data_start_date + {{ var('ml_min_history_days', 90) }}

)

select * from final
