-- The cutoff dates that features are computed as of. Default: the cutoff of the as-of date
-- (var as_of_date + 1 day, else the day after the last order) and every
-- ml_cutoff_interval_days before it, ml_cutoff_count in all, keeping only cutoffs with ml_min_history_days of history before
-- them. var ml_cutoffs (a list of dates) replaces the schedule. The latest cutoff is the
-- scoring cutoff; the earlier ones, whose label windows have (partly) passed, train and
-- backtest the models.

{%- set explicit_cutoffs = var('ml_cutoffs', []) %}
{%- set as_of = var('as_of_date', none) %}
{%- set interval_days = var('ml_cutoff_interval_days', 92) %}
{#- as_of_date is inclusive; the data end (the scoring cutoff) is the next midnight -#}
{%- set data_end_sql = add_days_to_date("cast('" ~ as_of ~ "' as date)", 1) if as_of
    else add_days_to_date(utc_date('max(ordered_at)'), 1) %}

with

orders as (

    select * from {{ ref('fct_orders') }}

),

bounds as (

    select
        {{ utc_date('min(ordered_at)') }} as data_start_date,
        {{ data_end_sql }} as data_end_date
    from orders

),

scheduled as (

    {% if explicit_cutoffs | length > 0 %}
        select cutoff_date from {{ date_values(explicit_cutoffs, 'cutoff_date') }} as listed
    {% else %}
        select
            {{ add_days_to_date('bounds.data_end_date', '-steps.step * ' ~ interval_days) }}
                as cutoff_date
        from bounds
        cross join {{ integer_series(var('ml_cutoff_count', 11)) }} as steps
    {% endif %}

),

final as (

    select
        scheduled.cutoff_date,
        {{ utc_midnight('scheduled.cutoff_date') }} as cutoff_at,
        {{ epoch_day(utc_midnight('scheduled.cutoff_date')) }} as cutoff_day_number,
        bounds.data_start_date,
        bounds.data_end_date,
        cast({{ dbt.datediff('scheduled.cutoff_date', 'bounds.data_end_date', 'day') }}
            as integer) as days_observed_after,
        scheduled.cutoff_date = max(scheduled.cutoff_date) over () as is_scoring_cutoff
    from scheduled
    cross join bounds
    where scheduled.cutoff_date <= bounds.data_end_date
        and scheduled.cutoff_date
        >= {{ add_days_to_date('bounds.data_start_date', var('ml_min_history_days', 90)) }}

)

select * from final
