-- Point-in-time features: one row per person and cutoff, using only what was known
-- before the cutoff (orders placed, refunds issued, events, e-mails and consents recorded
-- before it; devices and e-mail addresses only once they were tied to the person).
-- Persons enter once they were first seen before the cutoff. "days_since_*" are fractional
-- days before the cutoff (midnight UTC); "_7d/_30d/_90d" windows of web and e-mail
-- activity are the 7/30/90 calendar days (UTC) before it, and look back at most
-- ml_activity_lookback_days so the table stays cheap at scale.

{%- set activity_days = var('ml_activity_lookback_days', 180) %}
{#- Incremental by cutoff: past cutoffs are kept and the daily build computes only the new
    scoring cutoff, plus the kept cutoffs of the last ml_feature_late_days days (late data).
    The whole schedule of ml_cutoffs is recomputed only by a full refresh or with var
    ml_rebuild_feature_cutoffs (the retraining job); those rows are the training cutoffs. -#}
{%- set rebuild_all = var('ml_rebuild_feature_cutoffs', false) %}
{%- set late_days = var('ml_feature_late_days', 7) %}
{%- set daily = is_incremental() and not rebuild_all %}
{#- Rendered when the hook runs (so `this` is the built relation): drop cutoffs that are
    neither kept for training nor today's, and any after today's. -#}
{%- set prune_stale -%}{% raw %}
    {%- set stale -%}
        cutoff_date not in (select cutoff_date from {{ ref('ml_cutoffs') }})
        and (
            {{ 'true' if var('ml_rebuild_feature_cutoffs', false) else 'not is_training_cutoff' }}
            or cutoff_date > (select max(cutoff_date) from {{ ref('ml_cutoffs') }})
        )
    {%- endset %}
    {{ delete_rows(this, stale, 'cutoff_date') }}
{% endraw %}{%- endset %}
{#- Persons merged away since a kept cutoff was computed no longer exist: drop their rows
    (their labels would read as "no future orders"). The survivor's kept rows lack the
    merged history until the next rebuild of the schedule (the weekly retraining). -#}
{%- set prune_merged -%}{% raw %}
    {{ delete_rows(
        this,
        'person_id not in (select person_id from ' ~ ref('dim_customers') ~ ')',
        'cutoff_date',
    ) }}
{% endraw %}{%- endset %}
{#- Replaced cutoff by cutoff: delete+insert, or a partition per cutoff on Spark. -#}
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    **replace_partitions_config('cutoff_date')
) }}
{#- The widest model of the project (persons x cutoffs): cap DuckDB's memory while it builds
    so it spills to disk instead of growing with the shop (var ml_duckdb_memory_limit). -#}
{%- if target.type == 'duckdb' %}
{{ config(
    pre_hook="set memory_limit = '" ~ var('ml_duckdb_memory_limit', '6GB') ~ "'",
    post_hook=[prune_stale, prune_merged, "reset memory_limit"],
) }}
{%- else %}
{{ config(post_hook=[prune_stale, prune_merged]) }}
{%- endif %}

with

scheduled_cutoffs as (

    select * from {{ ref('ml_cutoffs') }}

),

{%- if daily %}

kept_cutoffs as (

    select distinct cutoff_date from {{ this }}
    where is_training_cutoff

),

scoring_cutoff as (

    select * from scheduled_cutoffs
    where is_scoring_cutoff

),

cutoffs as (

    -- the new scoring cutoff (a training cutoff only if the last rebuild made it one) ...
    select
        scoring_cutoff.cutoff_date,
        scoring_cutoff.cutoff_at,
        scoring_cutoff.cutoff_day_number,
        kept_cutoffs.cutoff_date is not null as is_training_cutoff
    from scoring_cutoff
    left join kept_cutoffs
        on scoring_cutoff.cutoff_date = kept_cutoffs.cutoff_date

    union all

    -- ... and the kept training cutoffs that late-arriving data may still change
    select
        kept_cutoffs.cutoff_date,
        {{ dbt.dateadd(
            'day',
            dbt.datediff('scoring_cutoff.cutoff_date', 'kept_cutoffs.cutoff_date', 'day'),
            'scoring_cutoff.cutoff_at',
        ) }} as cutoff_at,
        scoring_cutoff.cutoff_day_number
        + {{ dbt.datediff('scoring_cutoff.cutoff_date', 'kept_cutoffs.cutoff_date', 'day') }}
            as cutoff_day_number,
        true as is_training_cutoff
    from kept_cutoffs
    cross join scoring_cutoff
    where kept_cutoffs.cutoff_date < scoring_cutoff.cutoff_date
        and kept_cutoffs.cutoff_date
        >= {{ dbt.dateadd('day', -late_days, 'scoring_cutoff.cutoff_date') }}

),

{%- else %}

cutoffs as (

    select
        cutoff_date,
        cutoff_at,
        cutoff_day_number,
        true as is_training_cutoff
    from scheduled_cutoffs

),

{%- endif %}

customers as (

    select * from {{ ref('dim_customers') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

order_items as (

    select * from {{ ref('fct_order_items') }}

),

refunds as (

    select * from {{ ref('stg_shop__refunds') }}

),

stitched as (

    select * from {{ ref('int_identifiers_stitched') }}
    where person_id is not null

),

events as (

    select * from {{ ref('stg_shop__events') }}

),

email_events as (

    select * from {{ ref('stg_shop__email_events') }}

),

consents as (

    select * from {{ ref('stg_shop__consents') }}

),

---------- population: persons first seen before the cutoff
persons as (

    select
        person_id,
        least(
            coalesce(first_identified_at, first_order_at),
            coalesce(first_order_at, first_identified_at)
        ) as first_seen_at
    from customers

),

person_cutoffs as (

    select
        persons.person_id,
        cutoffs.cutoff_date,
        cutoffs.cutoff_at,
        cutoffs.cutoff_day_number,
        ({{ epoch_seconds('cutoffs.cutoff_at') }} - {{ epoch_seconds('persons.first_seen_at') }}) / 86400.0
            as days_since_first_seen
    from persons
    inner join cutoffs
        on persons.first_seen_at < cutoffs.cutoff_at

),

---------- orders and refunds known at the cutoff
paid_orders as (

    select
        person_id,
        order_id,
        ordered_at,
        {{ epoch_day('ordered_at') }} as order_day_number,
        cast(total_amount as {{ type_double() }}) as total_amount,
        cast(subtotal as {{ type_double() }}) as subtotal,
        cast(discount_amount as {{ type_double() }}) as discount_amount,
        has_discount,
        is_guest_checkout,
        item_count,
        days_since_previous_order
    from orders
    where is_paid

),

refunds_at_cutoff as (

    select
        cutoffs.cutoff_date,
        refunds.order_id,
        sum(cast(refunds.amount as {{ type_double() }})) as refunded_amount
    from refunds
    inner join cutoffs
        on refunds.refunded_at < cutoffs.cutoff_at
    group by cutoffs.cutoff_date, refunds.order_id

),

orders_at_cutoff as (

    select
        paid_orders.*,
        cutoffs.cutoff_date,
        cutoffs.cutoff_at,
        cutoffs.cutoff_day_number,
        ({{ epoch_seconds('cutoffs.cutoff_at') }} - {{ epoch_seconds('paid_orders.ordered_at') }}) / 86400.0 as days_before,
        coalesce(refunds_at_cutoff.refunded_amount, 0) as refunded_amount,
        refunds_at_cutoff.order_id is not null as has_refund,
        paid_orders.total_amount - coalesce(refunds_at_cutoff.refunded_amount, 0) as net_amount
    from paid_orders
    inner join cutoffs
        on paid_orders.ordered_at < cutoffs.cutoff_at
    left join refunds_at_cutoff
        on paid_orders.order_id = refunds_at_cutoff.order_id
        and cutoffs.cutoff_date = refunds_at_cutoff.cutoff_date

),

order_summary as (

    select
        person_id,
        cutoff_date,
        count(*) as orders_count,
        min(days_before) as days_since_last_order,
        max(days_before) as days_since_first_order,
        sum(total_amount) as gross_revenue,
        sum(net_amount) as net_revenue,
        sum(net_amount) / count(*) as average_order_value,
        max(net_amount) as max_order_value,
        sum(refunded_amount) as refunded_amount,
        count(*) filter (where has_refund) as refunded_orders_count,
        count(*) filter (where days_before < 30) as orders_30d,
        count(*) filter (where days_before < 90) as orders_90d,
        count(*) filter (where days_before < 180) as orders_180d,
        count(*) filter (where days_before < 365) as orders_365d,
        -- last year's version of the coming month: orders 334-364 days before the cutoff
        sum(case when days_before > 334 and days_before <= 364 then 1 else 0 end)
            as orders_next_30d_last_year,
        coalesce(sum(net_amount) filter (where days_before < 30), 0) as net_revenue_30d,
        coalesce(sum(net_amount) filter (where days_before < 90), 0) as net_revenue_90d,
        coalesce(sum(net_amount) filter (where days_before < 180), 0) as net_revenue_180d,
        coalesce(sum(net_amount) filter (where days_before < 365), 0) as net_revenue_365d,
        avg(case when has_discount then 1.0 else 0.0 end) as discount_order_share,
        sum(discount_amount) / nullif(sum(subtotal), 0) as discount_amount_share,
        avg(case when is_guest_checkout then 1.0 else 0.0 end) as guest_checkout_share,
        avg(item_count) as items_per_order,
        -- gaps between consecutive paid orders (each gap ends at an order before the cutoff)
        avg(days_since_previous_order) as gap_mean_days,
        {{ median('days_since_previous_order') }} as gap_median_days,
        stddev_samp(days_since_previous_order) as gap_stddev_days,
        {{ arg_max('days_since_previous_order', ['ordered_at', 'order_id']) }} as last_gap_days
    from orders_at_cutoff
    group by person_id, cutoff_date

),

order_days as (

    select
        person_id,
        cutoff_date,
        cutoff_day_number,
        order_day_number,
        sum(net_amount) as day_net_amount
    from orders_at_cutoff
    group by person_id, cutoff_date, cutoff_day_number, order_day_number

),

btyd_summary as (

    -- BG/NBD + Gamma-Gamma inputs in whole days (same-day orders are one purchase). T is
    -- measured as in Fader-Hardie-Lee: the last observed day (the day before the cutoff)
    -- minus the first purchase day, so a first order on the last day has T = 0.
    select
        person_id,
        cutoff_date,
        count(*) - 1 as btyd_frequency,
        max(order_day_number) - min(order_day_number) as btyd_recency_days,
        max(cutoff_day_number) - 1 - min(order_day_number) as btyd_tenure_days,
        case
            when count(*) > 1
                then
                    (sum(day_net_amount) - {{ arg_min('day_net_amount', ['order_day_number']) }})
                    / (count(*) - 1)
        end as btyd_monetary_value
    from order_days
    group by person_id, cutoff_date

),

cancelled_orders as (

    select
        orders.person_id,
        cutoffs.cutoff_date,
        count(*) as cancelled_orders_count
    from orders
    inner join cutoffs
        on orders.ordered_at < cutoffs.cutoff_at
    where not orders.is_paid
    group by orders.person_id, cutoffs.cutoff_date

),

item_summary as (

    select
        order_items.person_id,
        cutoffs.cutoff_date,
        count(distinct order_items.category) as distinct_categories,
        sum(order_items.quantity) as items_count,
        sum(case when order_items.is_consumable then order_items.quantity else 0 end)
        / nullif(sum(order_items.quantity), 0) as consumable_item_share,
        min(
            ({{ epoch_seconds('cutoffs.cutoff_at') }} - {{ epoch_seconds('order_items.ordered_at') }}) / 86400.0
        ) filter (where order_items.is_consumable) as days_since_last_consumable_order,
        -- supply bought with the last consumable order: its first item to run out
        -- (ordering by the value too makes ties deterministic)
        {{ arg_max(
            'order_items.replenishment_days * order_items.quantity',
            ['order_items.ordered_at', '-order_items.replenishment_days * order_items.quantity'],
            where='order_items.is_consumable'
        ) }} as last_consumable_supply_days
    from order_items
    inner join cutoffs
        on order_items.ordered_at < cutoffs.cutoff_at
    where order_items.is_paid
    group by order_items.person_id, cutoffs.cutoff_date

),

---------- web activity on the person's devices (once the device was tied to the person)
device_persons as (

    select
        identifier_value as anonymous_id,
        person_id,
        first_seen_at as identified_at
    from stitched
    where identifier_type = 'anonymous_id'

),

device_days as (

    -- one row per device and UTC day: the events are pre-aggregated once, not per cutoff
    select
        anonymous_id,
        {{ epoch_day('occurred_at') }} as event_day_number,
        max(occurred_at) as last_event_at,
        max(occurred_at) filter (where event_type = 'add_to_cart') as last_cart_at,
        count(*) filter (where event_type = 'page_view') as page_views,
        count(*) filter (where event_type = 'view_item') as product_views,
        count(*) filter (where event_type = 'add_to_cart') as carts,
        count(*) filter (where event_type = 'begin_checkout') as checkouts,
        count(*) filter (where event_type = 'search') as searches,
        count(*) filter (where event_type = 'view_item' and not is_in_stock)
            as out_of_stock_views
    from events
    where anonymous_id is not null
    group by anonymous_id, event_day_number

),

web_days as (

    select
        device_persons.person_id,
        cutoffs.cutoff_date,
        cutoffs.cutoff_at,
        device_days.*,
        -- calendar days before the cutoff: 1 = the day before it
        cutoffs.cutoff_day_number - device_days.event_day_number as days_before
    from device_days
    inner join device_persons
        on device_days.anonymous_id = device_persons.anonymous_id
    inner join cutoffs
        on device_days.event_day_number < cutoffs.cutoff_day_number
        and device_days.event_day_number >= cutoffs.cutoff_day_number - {{ activity_days }}
        and device_persons.identified_at < cutoffs.cutoff_at

),

web_summary as (

    select
        person_id,
        cutoff_date,
        count(distinct event_day_number) filter (where days_before <= 7) as active_days_7d,
        count(distinct event_day_number) filter (where days_before <= 30) as active_days_30d,
        count(distinct event_day_number) filter (where days_before <= 90) as active_days_90d,
        coalesce(sum(page_views) filter (where days_before <= 30), 0) as page_views_30d,
        coalesce(sum(product_views) filter (where days_before <= 7), 0) as product_views_7d,
        coalesce(sum(product_views) filter (where days_before <= 30), 0) as product_views_30d,
        coalesce(sum(product_views) filter (where days_before <= 90), 0) as product_views_90d,
        coalesce(sum(carts) filter (where days_before <= 7), 0) as carts_7d,
        coalesce(sum(carts) filter (where days_before <= 30), 0) as carts_30d,
        coalesce(sum(carts) filter (where days_before <= 90), 0) as carts_90d,
        coalesce(sum(checkouts) filter (where days_before <= 30), 0) as checkouts_30d,
        coalesce(sum(searches) filter (where days_before <= 30), 0) as searches_30d,
        coalesce(sum(out_of_stock_views) filter (where days_before <= 90), 0)
            as out_of_stock_views_90d,
        min({{ epoch_seconds('cutoff_at') }} - {{ epoch_seconds('last_event_at') }}) / 86400.0 as days_since_last_web_event,
        min({{ epoch_seconds('cutoff_at') }} - {{ epoch_seconds('last_cart_at') }}) / 86400.0 as days_since_last_cart
    from web_days
    group by person_id, cutoff_date

),

---------- e-mail engagement (once the address was tied to the person)
email_persons as (

    select
        identifier_value as email,
        person_id,
        first_seen_at as identified_at
    from stitched
    where identifier_type = 'email'

),

email_days as (

    select
        email,
        {{ epoch_day('occurred_at') }} as event_day_number,
        count(*) filter (where event_type = 'delivered') as delivered,
        count(*) filter (where event_type = 'open') as opens,
        count(*) filter (where event_type = 'click') as clicks,
        max(occurred_at) filter (where event_type = 'open') as last_open_at,
        max(occurred_at) filter (where event_type = 'click') as last_click_at
    from email_events
    where email is not null
        and event_type in ('delivered', 'open', 'click')
    group by email, event_day_number

),

person_email_days as (

    select
        email_persons.person_id,
        cutoffs.cutoff_date,
        cutoffs.cutoff_at,
        email_days.*,
        cutoffs.cutoff_day_number - email_days.event_day_number as days_before
    from email_days
    inner join email_persons
        on email_days.email = email_persons.email
    inner join cutoffs
        on email_days.event_day_number < cutoffs.cutoff_day_number
        and email_days.event_day_number >= cutoffs.cutoff_day_number - {{ activity_days }}
        and email_persons.identified_at < cutoffs.cutoff_at

),

email_summary as (

    select
        person_id,
        cutoff_date,
        coalesce(sum(delivered) filter (where days_before <= 90), 0) as emails_delivered_90d,
        coalesce(sum(opens) filter (where days_before <= 30), 0) as email_opens_30d,
        coalesce(sum(opens) filter (where days_before <= 90), 0) as email_opens_90d,
        coalesce(sum(clicks) filter (where days_before <= 30), 0) as email_clicks_30d,
        coalesce(sum(clicks) filter (where days_before <= 90), 0) as email_clicks_90d,
        min({{ epoch_seconds('cutoff_at') }} - {{ epoch_seconds('last_open_at') }}) / 86400.0 as days_since_last_email_open,
        min({{ epoch_seconds('cutoff_at') }} - {{ epoch_seconds('last_click_at') }}) / 86400.0 as days_since_last_email_click
    from person_email_days
    group by person_id, cutoff_date

),

email_suppressions as (

    -- unsubscribes, bounces and complaints count however long ago they happened
    select
        email_persons.person_id,
        cutoffs.cutoff_date,
        true as is_email_suppressed
    from email_events
    inner join email_persons
        on email_events.email = email_persons.email
    inner join cutoffs
        on email_events.occurred_at < cutoffs.cutoff_at
    where email_events.event_type in ('unsubscribe', 'bounce', 'spam_complaint')
    group by email_persons.person_id, cutoffs.cutoff_date

),

---------- consent as recorded before the cutoff (latest status per channel wins)
consent_persons as (

    select
        coalesce(by_account.person_id, by_email.person_id, by_phone.person_id) as person_id,
        consents.channel,
        consents.status,
        consents.recorded_at
    from consents
    left join stitched as by_account
        on {{ identifier_key('customer_id', 'consents.customer_id') }} = by_account.identifier_key
    left join stitched as by_email
        on {{ identifier_key('email', 'consents.email') }} = by_email.identifier_key
    left join stitched as by_phone
        on {{ identifier_key('phone', 'consents.phone') }} = by_phone.identifier_key

),

latest_consents as (

    select
        consent_persons.person_id,
        cutoffs.cutoff_date,
        consent_persons.channel,
        consent_persons.status,
        row_number() over (
            partition by consent_persons.person_id, cutoffs.cutoff_date, consent_persons.channel
            order by consent_persons.recorded_at desc, consent_persons.status
        ) as recency_rank
    from consent_persons
    inner join cutoffs
        on consent_persons.recorded_at < cutoffs.cutoff_at
    where consent_persons.person_id is not null

),

consent_flags as (

    select
        person_id,
        cutoff_date,
        {{ dbt.bool_or("channel = 'email' and status = 'opt_in'") }} as is_email_consented,
        {{ dbt.bool_or("channel = 'sms' and status = 'opt_in'") }} as is_sms_consented,
        {{ dbt.bool_or("channel = 'push' and status = 'opt_in'") }} as is_push_consented
    from latest_consents
    where recency_rank = 1
    group by person_id, cutoff_date

),

---------- seasonality of the shop, from its own history before the cutoff
shop_order_days as (

    select
        order_day_number,
        count(*) as orders
    from paid_orders
    group by order_day_number

),

season as (

    -- shop orders in the coming 7 / 30 days one year (52 weeks, same weekdays) before the
    -- cutoff, per day, against the 28 days before that: > 1 = the season ahead was busier
    -- than the weeks before it last year. Null without 392 days of history.
    select
        cutoffs.cutoff_date,
        sum(
            case
                when shop_order_days.order_day_number >= cutoffs.cutoff_day_number - 364
                    and shop_order_days.order_day_number < cutoffs.cutoff_day_number - 357
                    then shop_order_days.orders
                else 0
            end
        ) / 7.0 as orders_per_day_next_7d,
        sum(
            case
                when shop_order_days.order_day_number >= cutoffs.cutoff_day_number - 364
                    and shop_order_days.order_day_number < cutoffs.cutoff_day_number - 334
                    then shop_order_days.orders
                else 0
            end
        ) / 30.0 as orders_per_day_next_30d,
        sum(
            case
                when shop_order_days.order_day_number < cutoffs.cutoff_day_number - 364
                    then shop_order_days.orders
                else 0
            end
        ) / 28.0 as orders_per_day_before
    from cutoffs
    inner join shop_order_days
        on shop_order_days.order_day_number >= cutoffs.cutoff_day_number - 392
        and shop_order_days.order_day_number < cutoffs.cutoff_day_number - 334
    where cutoffs.cutoff_day_number - 392
        >= (select min(shop_order_days.order_day_number) from shop_order_days)
    group by cutoffs.cutoff_date

),

calendar as (

    select
        cutoffs.cutoff_date,
        cutoffs.is_training_cutoff,
        2 * pi() * {{ dbt.datediff(dbt.date_trunc('year', 'cutoffs.cutoff_date'),
            'cutoffs.cutoff_date', 'day') }} / 365.25 as year_angle,
        season.orders_per_day_next_7d / nullif(season.orders_per_day_before, 0)
            as shop_season_index_7d,
        season.orders_per_day_next_30d / nullif(season.orders_per_day_before, 0)
            as shop_season_index_30d
    from cutoffs
    left join season
        on cutoffs.cutoff_date = season.cutoff_date

),

final as (

    select
        ---------- keys
        person_cutoffs.person_id,
        person_cutoffs.cutoff_date,

        ---------- tenure
        cast(person_cutoffs.days_since_first_seen as {{ type_double() }}) as days_since_first_seen,

        ---------- calendar and season (the same for everyone at a cutoff)
        cast(sin(calendar.year_angle) as {{ dbt.type_float() }}) as cutoff_day_of_year_sin,
        cast(cos(calendar.year_angle) as {{ dbt.type_float() }}) as cutoff_day_of_year_cos,
        cast(calendar.shop_season_index_7d as {{ dbt.type_float() }}) as shop_season_index_7d,
        cast(calendar.shop_season_index_30d as {{ dbt.type_float() }})
            as shop_season_index_30d,

        ---------- purchases (RFM and windows)
        cast(coalesce(order_summary.orders_count, 0) as integer) as orders_count,
        cast(order_summary.days_since_last_order as {{ type_double() }}) as days_since_last_order,
        cast(order_summary.days_since_first_order as {{ type_double() }}) as days_since_first_order,
        cast(coalesce(order_summary.gross_revenue, 0) as {{ type_double() }}) as gross_revenue,
        cast(coalesce(order_summary.net_revenue, 0) as {{ type_double() }}) as net_revenue,
        cast(order_summary.average_order_value as {{ type_double() }}) as average_order_value,
        cast(order_summary.max_order_value as {{ type_double() }}) as max_order_value,
        cast(coalesce(order_summary.orders_30d, 0) as integer) as orders_30d,
        cast(coalesce(order_summary.orders_90d, 0) as integer) as orders_90d,
        cast(coalesce(order_summary.orders_180d, 0) as integer) as orders_180d,
        cast(coalesce(order_summary.orders_365d, 0) as integer) as orders_365d,
        cast(coalesce(order_summary.orders_next_30d_last_year, 0) as integer)
            as orders_next_30d_last_year,
        cast(coalesce(order_summary.net_revenue_30d, 0) as {{ type_double() }}) as net_revenue_30d,
        cast(coalesce(order_summary.net_revenue_90d, 0) as {{ type_double() }}) as net_revenue_90d,
        cast(coalesce(order_summary.net_revenue_180d, 0) as {{ type_double() }}) as net_revenue_180d,
        cast(coalesce(order_summary.net_revenue_365d, 0) as {{ type_double() }}) as net_revenue_365d,

        ---------- cadence
        cast(order_summary.gap_mean_days as {{ type_double() }}) as gap_mean_days,
        cast(order_summary.gap_median_days as {{ type_double() }}) as gap_median_days,
        cast(order_summary.gap_stddev_days as {{ type_double() }}) as gap_stddev_days,
        cast(order_summary.last_gap_days as {{ type_double() }}) as last_gap_days,
        cast(order_summary.last_gap_days - order_summary.gap_mean_days as {{ type_double() }})
            as gap_trend_days,
        cast(
            order_summary.days_since_last_order / nullif(order_summary.gap_mean_days, 0)
            as {{ type_double() }}
        ) as cadence_position,

        ---------- discounts, refunds, cancellations
        cast(order_summary.discount_order_share as {{ type_double() }}) as discount_order_share,
        cast(order_summary.discount_amount_share as {{ type_double() }}) as discount_amount_share,
        cast(order_summary.guest_checkout_share as {{ type_double() }}) as guest_checkout_share,
        cast(coalesce(order_summary.refunded_amount, 0) as {{ type_double() }}) as refunded_amount,
        cast(coalesce(order_summary.refunded_orders_count, 0) as integer)
            as refunded_orders_count,
        cast(coalesce(cancelled_orders.cancelled_orders_count, 0) as integer)
            as cancelled_orders_count,

        ---------- basket and categories
        cast(order_summary.items_per_order as {{ type_double() }}) as items_per_order,
        cast(coalesce(item_summary.distinct_categories, 0) as integer) as distinct_categories,
        cast(item_summary.consumable_item_share as {{ type_double() }}) as consumable_item_share,
        cast(item_summary.days_since_last_consumable_order as {{ type_double() }})
            as days_since_last_consumable_order,
        cast(
            item_summary.days_since_last_consumable_order
            / nullif(item_summary.last_consumable_supply_days, 0) as {{ type_double() }}
        ) as replenishment_cycle_position,

        ---------- web activity
        cast(coalesce(web_summary.active_days_7d, 0) as integer) as active_days_7d,
        cast(coalesce(web_summary.active_days_30d, 0) as integer) as active_days_30d,
        cast(coalesce(web_summary.active_days_90d, 0) as integer) as active_days_90d,
        cast(coalesce(web_summary.page_views_30d, 0) as integer) as page_views_30d,
        cast(coalesce(web_summary.product_views_7d, 0) as integer) as product_views_7d,
        cast(coalesce(web_summary.product_views_30d, 0) as integer) as product_views_30d,
        cast(coalesce(web_summary.product_views_90d, 0) as integer) as product_views_90d,
        cast(coalesce(web_summary.carts_7d, 0) as integer) as carts_7d,
        cast(coalesce(web_summary.carts_30d, 0) as integer) as carts_30d,
        cast(coalesce(web_summary.carts_90d, 0) as integer) as carts_90d,
        cast(coalesce(web_summary.checkouts_30d, 0) as integer) as checkouts_30d,
        cast(coalesce(web_summary.searches_30d, 0) as integer) as searches_30d,
        cast(coalesce(web_summary.out_of_stock_views_90d, 0) as integer)
            as out_of_stock_views_90d,
        cast(web_summary.days_since_last_web_event as {{ type_double() }}) as days_since_last_web_event,
        coalesce(
            web_summary.days_since_last_cart < 7
            and web_summary.days_since_last_cart
            < coalesce(order_summary.days_since_last_order, 1e9),
            false
        ) as has_open_cart_7d,

        ---------- e-mail engagement
        cast(coalesce(email_summary.emails_delivered_90d, 0) as integer) as emails_delivered_90d,
        cast(coalesce(email_summary.email_opens_30d, 0) as integer) as email_opens_30d,
        cast(coalesce(email_summary.email_opens_90d, 0) as integer) as email_opens_90d,
        cast(coalesce(email_summary.email_clicks_30d, 0) as integer) as email_clicks_30d,
        cast(coalesce(email_summary.email_clicks_90d, 0) as integer) as email_clicks_90d,
        cast(email_summary.days_since_last_email_open as {{ type_double() }}) as days_since_last_email_open,
        cast(email_summary.days_since_last_email_click as {{ type_double() }})
            as days_since_last_email_click,
        coalesce(email_suppressions.is_email_suppressed, false) as is_email_suppressed,

        ---------- consent
        coalesce(consent_flags.is_email_consented, false) as is_email_consented,
        coalesce(consent_flags.is_sms_consented, false) as is_sms_consented,
        coalesce(consent_flags.is_push_consented, false) as is_push_consented,

        ---------- buy-till-you-die inputs (whole days; null for persons without orders)
        cast(btyd_summary.btyd_frequency as integer) as btyd_frequency,
        cast(btyd_summary.btyd_recency_days as integer) as btyd_recency_days,
        cast(btyd_summary.btyd_tenure_days as integer) as btyd_tenure_days,
        cast(btyd_summary.btyd_monetary_value as {{ type_double() }}) as btyd_monetary_value,

        ---------- bookkeeping: kept for training (a full rebuild) or a daily scoring cutoff
        calendar.is_training_cutoff

    from person_cutoffs
    inner join calendar
        on person_cutoffs.cutoff_date = calendar.cutoff_date
    left join order_summary
        on person_cutoffs.person_id = order_summary.person_id
        and person_cutoffs.cutoff_date = order_summary.cutoff_date
    left join btyd_summary
        on person_cutoffs.person_id = btyd_summary.person_id
        and person_cutoffs.cutoff_date = btyd_summary.cutoff_date
    left join cancelled_orders
        on person_cutoffs.person_id = cancelled_orders.person_id
        and person_cutoffs.cutoff_date = cancelled_orders.cutoff_date
    left join item_summary
        on person_cutoffs.person_id = item_summary.person_id
        and person_cutoffs.cutoff_date = item_summary.cutoff_date
    left join web_summary
        on person_cutoffs.person_id = web_summary.person_id
        and person_cutoffs.cutoff_date = web_summary.cutoff_date
    left join email_summary
        on person_cutoffs.person_id = email_summary.person_id
        and person_cutoffs.cutoff_date = email_summary.cutoff_date
    left join email_suppressions
        on person_cutoffs.person_id = email_suppressions.person_id
        and person_cutoffs.cutoff_date = email_suppressions.cutoff_date
    left join consent_flags
        on person_cutoffs.person_id = consent_flags.person_id
        and person_cutoffs.cutoff_date = consent_flags.cutoff_date

)

select * from final
