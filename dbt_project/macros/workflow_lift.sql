{#- Treatment-vs-holdout statistics of int_workflow_entry_outcomes grouped by
    `group_by` (a list of columns), over the measured entries (after launch and after the
    person's assignment) whose clean window has ended. Conversion: difference of
    proportions with Newcombe's hybrid score (Wilson) interval at var lift_confidence,
    which stays honest for small groups and rates near zero; revenue per entry: difference
    of means with a normal interval (the holdout's variance floored at the treatment's).
    Holdouts are drawn per person and a person may enter a flow several times, so
    variances are cluster-robust by person (linearised ratio estimator); the design effect
    is that variance over the one an independent sample of entries would have, and the
    minimum detectable conversion lift at var lift_power uses it. Global-holdout entrants
    are counted but not compared (they received no flow of any kind). -#}
{% macro workflow_lift(outcomes, group_by) -%}
{%- set z = lift_z() -%}
{%- set detectable = lift_z() + lift_power_z() -%}
{%- set min_n = var('lift_min_group_size') -%}
{%- set groups = group_by | join(', ') -%}

per_person as (

    -- the person is the unit of assignment, so entries are clustered by person
    select
        {{ groups }},
        experiment_group,
        person_id,
        count(*) as entries,
        sum(case when has_converted then 1 else 0 end) as conversions,
        sum(revenue_in_window) as revenue,
        sum(last_touch_orders) as last_touch_orders,
        sum(last_touch_revenue) as last_touch_revenue
    from {{ outcomes }}
    where is_window_complete and is_measured
    group by {{ groups }}, experiment_group, person_id

),

{%- set sums = {
    'persons': '1',
    'entries': 'entries',
    'conversions': 'conversions',
    'revenue': 'revenue',
    'entries_sq': 'entries * entries',
    'conversions_sq': 'conversions * conversions',
    'conversions_x_entries': 'conversions * entries',
    'revenue_sq': 'revenue * revenue',
    'revenue_x_entries': 'revenue * entries',
} %}

aggregated as (

    select
        {{ groups }},
        {%- for group in ['treatment', 'holdout'] %}
        {%- for name, expression in sums.items() %}
        sum(case when experiment_group = '{{ group }}' then {{ expression }} else 0 end)
            as {{ group }}_{{ name }},
        {%- endfor %}
        {%- endfor %}
        sum(case when experiment_group = 'global_holdout' then entries else 0 end)
            as global_holdout_entries,
        sum(case when experiment_group = 'treatment' then last_touch_orders else 0 end)
            as last_touch_orders,
        sum(case when experiment_group = 'treatment' then last_touch_revenue else 0 end)
            as last_touch_revenue
    from per_person
    group by {{ groups }}

),

rates as (

    select
        *,
        treatment_entries as treatment_n,
        holdout_entries as holdout_n,
        cast(treatment_conversions as {{ type_double() }}) / nullif(treatment_entries, 0)
            as treatment_conversion_rate,
        cast(holdout_conversions as {{ type_double() }}) / nullif(holdout_entries, 0)
            as holdout_conversion_rate,
        cast(treatment_conversions + holdout_conversions as {{ type_double() }})
            / nullif(treatment_entries + holdout_entries, 0) as pooled_conversion_rate,
        treatment_revenue / nullif(treatment_entries, 0) as treatment_revenue_per_entry,
        holdout_revenue / nullif(holdout_entries, 0) as holdout_revenue_per_entry
    from aggregated

),



errors as (

    select
        *,
        treatment_conversion_rate - holdout_conversion_rate as conversion_lift,
        {{ lift_ratio_variance('treatment', 'conversions', 'treatment_conversion_rate') }}
            as treatment_conversion_variance,
        {{ lift_ratio_variance('holdout', 'conversions', 'holdout_conversion_rate') }}
            as holdout_conversion_variance,
        treatment_revenue_per_entry - holdout_revenue_per_entry as revenue_lift_per_entry,
        {{ lift_ratio_variance('treatment', 'revenue', 'treatment_revenue_per_entry') }}
            as treatment_revenue_variance,
        {{ lift_ratio_variance('holdout', 'revenue', 'holdout_revenue_per_entry') }}
            as holdout_revenue_variance
    from rates

),

effective as (

    -- effective sample sizes: entries divided by the design effect of clustering
    select
        *,
        treatment_entries / greatest(1.0, treatment_conversion_variance
            / nullif(treatment_conversion_rate * (1 - treatment_conversion_rate)
                / nullif(treatment_entries, 0), 0)) as treatment_effective_n,
        holdout_entries / greatest(1.0, holdout_conversion_variance
            / nullif(holdout_conversion_rate * (1 - holdout_conversion_rate)
                / nullif(holdout_entries, 0), 0)) as holdout_effective_n,
        -- design effect: the clustered variance of the conversion lift over the variance
        -- the same number of independent entries would give
        greatest(1.0, (treatment_conversion_variance + holdout_conversion_variance)
            / nullif(treatment_conversion_rate * (1 - treatment_conversion_rate)
                / nullif(treatment_entries, 0)
                + holdout_conversion_rate * (1 - holdout_conversion_rate)
                / nullif(holdout_entries, 0), 0)) as conversion_design_effect,
        -- the holdout's variance of the mean is at least what the treatment's spread
        -- implies at the holdout's size (a small holdout with no buyer has no spread)
        sqrt(
            treatment_revenue_variance
            + greatest(
                holdout_revenue_variance,
                treatment_revenue_variance * treatment_entries / nullif(holdout_entries, 0))
        ) as revenue_lift_standard_error
    from errors

),

wilson as (

    -- Wilson score bounds of each rate at its effective sample size
    {%- for group in ['treatment', 'holdout'] %}
    {%- set p = group ~ '_conversion_rate' %}
    {%- set n = 'nullif(' ~ group ~ '_effective_n, 0)' %}
    {{ 'select *,' if loop.first else ',' }}
        ({{ p }} + {{ z * z }} / (2 * {{ n }})
            - {{ z }} * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ z * z }} / (4 * {{ n }} * {{ n }})))
            / (1 + {{ z * z }} / {{ n }}) as {{ group }}_rate_low,
        ({{ p }} + {{ z * z }} / (2 * {{ n }})
            + {{ z }} * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ z * z }} / (4 * {{ n }} * {{ n }})))
            / (1 + {{ z * z }} / {{ n }}) as {{ group }}_rate_high
    {%- endfor %}
    from effective

),

detectable as (

    -- under no effect (both groups at the pooled rate), inflated by the design effect
    select
        *,
        sqrt(
            pooled_conversion_rate * (1 - pooled_conversion_rate)
            * (1.0 / nullif(treatment_entries, 0) + 1.0 / nullif(holdout_entries, 0))
            * coalesce(conversion_design_effect, 1.0)
        ) as pooled_standard_error
    from wilson

),

intervals as (

    -- Newcombe's hybrid score interval for the difference of two proportions
    select
        *,
        conversion_lift - sqrt(
            power(treatment_conversion_rate - treatment_rate_low, 2)
            + power(holdout_rate_high - holdout_conversion_rate, 2)
        ) as conversion_lift_ci_low,
        conversion_lift + sqrt(
            power(treatment_rate_high - treatment_conversion_rate, 2)
            + power(holdout_conversion_rate - holdout_rate_low, 2)
        ) as conversion_lift_ci_high
    from detectable

),

final as (

    select
        {{ groups }},

        ---------- groups
        cast(treatment_entries as {{ dbt.type_int() }}) as treatment_entries,
        cast(holdout_entries as {{ dbt.type_int() }}) as holdout_entries,
        cast(treatment_persons as {{ dbt.type_int() }}) as treatment_persons,
        cast(holdout_persons as {{ dbt.type_int() }}) as holdout_persons,
        cast(global_holdout_entries as {{ dbt.type_int() }}) as global_holdout_entries,

        ---------- conversion within the window
        cast(treatment_conversions as {{ dbt.type_int() }}) as treatment_conversions,
        cast(holdout_conversions as {{ dbt.type_int() }}) as holdout_conversions,
        cast(treatment_conversion_rate as {{ type_double() }}) as treatment_conversion_rate,
        cast(holdout_conversion_rate as {{ type_double() }}) as holdout_conversion_rate,
        cast(conversion_lift as {{ type_double() }}) as conversion_lift,
        cast(conversion_lift_ci_low as {{ type_double() }}) as conversion_lift_ci_low,
        cast(conversion_lift_ci_high as {{ type_double() }}) as conversion_lift_ci_high,
        cast(conversion_lift / nullif(holdout_conversion_rate, 0) as {{ type_double() }})
            as relative_conversion_lift,

        ---------- net revenue within the window
        cast(treatment_revenue_per_entry as {{ type_double() }}) as treatment_revenue_per_entry,
        cast(holdout_revenue_per_entry as {{ type_double() }}) as holdout_revenue_per_entry,
        cast(revenue_lift_per_entry as {{ type_double() }}) as revenue_lift_per_entry,
        cast(revenue_lift_per_entry - {{ z }} * revenue_lift_standard_error
            as {{ type_double() }}) as revenue_lift_per_entry_ci_low,
        cast(revenue_lift_per_entry + {{ z }} * revenue_lift_standard_error
            as {{ type_double() }}) as revenue_lift_per_entry_ci_high,
        cast(revenue_lift_per_entry / nullif(holdout_revenue_per_entry, 0)
            as {{ type_double() }}) as relative_revenue_lift,
        cast(revenue_lift_per_entry * treatment_entries as {{ type_double() }})
            as incremental_revenue,
        cast((revenue_lift_per_entry - {{ z }} * revenue_lift_standard_error) * treatment_entries
            as {{ type_double() }}) as incremental_revenue_ci_low,
        cast((revenue_lift_per_entry + {{ z }} * revenue_lift_standard_error) * treatment_entries
            as {{ type_double() }}) as incremental_revenue_ci_high,

        ---------- can this sample tell?
        cast({{ detectable }} * pooled_standard_error as {{ type_double() }})
            as minimum_detectable_conversion_lift,
        cast(conversion_design_effect as {{ type_double() }}) as conversion_design_effect,
        coalesce(treatment_persons >= {{ min_n }} and holdout_persons >= {{ min_n }}, false)
            as is_sample_sufficient,
        case
            when coalesce(treatment_persons, 0) < {{ min_n }}
                or coalesce(holdout_persons, 0) < {{ min_n }}
                then 'sample too small: fewer than {{ min_n }} persons in a group'
            when conversion_lift_ci_low > 0
                then 'conversion lift detected ({{ lift_confidence_label() }} interval above zero)'
            when conversion_lift_ci_high < 0
                then 'negative conversion lift ({{ lift_confidence_label() }} interval below zero)'
            else 'no detectable lift: this sample can detect a conversion lift of about '
                -- explicit decimals: a bare `numeric` has scale 0 on Spark (110.7 would
                -- read 111), and PostgreSQL rounds only numerics to a number of places
                || cast(cast(round(cast({{ 100 * detectable }} * pooled_standard_error
                    as decimal(18, 6)), 1) as decimal(18, 1)) as {{ dbt.type_string() }})
                || ' percentage points or more'
        end as lift_note,

        ---------- last-touch attribution (treatment entries; not incremental)
        cast(last_touch_orders as {{ dbt.type_int() }}) as last_touch_orders,
        cast(last_touch_revenue as {{ type_double() }}) as last_touch_revenue,
        'last-touch: orders within {{ var("attribution_click_days") }} days after a click in this workflow (credits sales that would have happened anyway)'
            as last_touch_label

    from intervals

)

select * from final
{%- endmacro %}


{#- Cluster-robust (linearised ratio) variance of a per-entry mean y/n over persons i:
    m/(m-1) * sum_i (y_i - mean * n_i)^2 / N^2, expanded into the sums above. #}
{% macro lift_ratio_variance(group, y, mean) -%}
    {{ group }}_persons / nullif({{ group }}_persons - 1.0, 0)
    * greatest(
        {{ group }}_{{ y }}_sq
        - 2 * {{ mean }} * {{ group }}_{{ y }}_x_entries
        + {{ mean }} * {{ mean }} * {{ group }}_entries_sq,
        0)
    / nullif(cast({{ group }}_entries as {{ type_double() }}) * {{ group }}_entries, 0)
{%- endmacro %}
