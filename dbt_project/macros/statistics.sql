{#- Normal quantiles for the lift statistics, computed when the SQL is compiled (plain
    arithmetic, so every adapter gets a number literal). -#}

{% macro normal_quantile(p) -%}
    {#- The p-quantile of the standard normal: bisection on the normal CDF, with
        erf from Abramowitz and Stegun 7.1.26 (absolute error < 1.5e-7). Jinja has no
        log, but exp is a power of e, which is all the CDF needs. -#}
    {%- if p <= 0 or p >= 1 -%}
        {{ exceptions.raise_compiler_error('normal_quantile: p must be in (0, 1), got ' ~ p) }}
    {%- endif -%}
    {%- set bounds = namespace(low=-10.0, high=10.0) -%}
    {%- for _ in range(60) -%}
        {%- set middle = (bounds.low + bounds.high) / 2 -%}
        {%- if normal_cdf(middle) < p -%}
            {%- set bounds.low = middle -%}
        {%- else -%}
            {%- set bounds.high = middle -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return((bounds.low + bounds.high) / 2) }}
{%- endmacro %}


{% macro normal_cdf(x) -%}
    {%- set z = (x if x >= 0 else -x) / 2 ** 0.5 -%}
    {%- set t = 1 / (1 + 0.3275911 * z) -%}
    {%- set polynomial = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
        + t * (-1.453152027 + t * 1.061405429)))) -%}
    {%- set erf = 1 - polynomial * 2.718281828459045 ** (-z * z) -%}
    {{ return(0.5 * (1 + erf) if x >= 0 else 0.5 * (1 - erf)) }}
{%- endmacro %}


{% macro lift_z() -%}
    {#- Two-sided critical value of the lift intervals (var lift_confidence, 0.95 -> 1.96). -#}
    {{ return(normal_quantile(1 - (1 - var('lift_confidence')) / 2)) }}
{%- endmacro %}


{% macro lift_power_z() -%}
    {#- z of the planned power (var lift_power, 0.80 -> 0.84): a true lift of
        (lift_z + lift_power_z) standard errors is detected with that probability. -#}
    {{ return(normal_quantile(var('lift_power'))) }}
{%- endmacro %}


{% macro lift_confidence_label() -%}
    {#- var lift_confidence as a percentage label, 0.95 -> '95%'. -#}
    {{ return('%g%%' | format(100 * var('lift_confidence'))) }}
{%- endmacro %}
