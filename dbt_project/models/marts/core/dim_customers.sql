-- One row per person: contact identifiers, account profile, purchase history, favourite
-- category, consent per channel, email engagement and web activity.

with

stitched as (

    select * from {{ ref('int_identifiers_stitched') }}
    where person_id is not null

),

record_persons as (

    select * from {{ ref('int_records_persons') }}

),

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

consents as (

    select * from {{ ref('stg_shop__consents') }}

),

email_events as (

    select * from {{ ref('stg_shop__email_events') }}

),

events as (

    select * from {{ ref('stg_shop__events') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

order_buyers as (

    select * from {{ ref('stg_shop__orders') }}

),

order_items as (

    select * from {{ ref('fct_order_items') }}

),

---------- persons: every stitched component plus unidentified single-order persons
persons as (

    select distinct person_id from stitched
    union
    select distinct person_id from orders
    where is_unidentified

),

---------- identifiers
ranked_contacts as (

    select
        person_id,
        identifier_type,
        identifier_value,
        row_number() over (
            partition by person_id, identifier_type
            order by last_seen_at desc, record_count desc, identifier_value
        ) as recency_rank
    from stitched
    where identifier_type in ('email', 'phone')

),

identifier_lists as (

    select
        person_id,
        {{ sorted_string_agg(
            "case when identifier_type = 'customer_id' then identifier_value end"
        ) }}
            as customer_ids,
        {{ sorted_string_agg(
            "case when identifier_type = 'email' then identifier_value end"
        ) }}
            as emails,
        {{ sorted_string_agg(
            "case when identifier_type = 'phone' then identifier_value end"
        ) }}
            as phones,
        sum(case when identifier_type = 'anonymous_id' then 1 else 0 end) as anonymous_id_count,
        min(first_seen_at) as first_identified_at
    from stitched
    group by person_id

),

---------- account profile: the most recently updated account wins
ranked_accounts as (

    select
        record_persons.person_id,
        customers.first_name,
        customers.last_name,
        customers.country,
        row_number() over (
            partition by record_persons.person_id
            order by customers.updated_at desc, customers.customer_id
        ) as account_rank
    from customers
    inner join record_persons
        on record_persons.record_source = 'customer'
        and customers.customer_id = record_persons.record_id

),

---------- buyer as written on the person's latest order that names one (guests have no
---------- account profile; an account's own profile wins field by field)
ranked_order_buyers as (

    select
        orders.person_id,
        order_buyers.first_name,
        order_buyers.last_name,
        order_buyers.country,
        row_number() over (
            partition by orders.person_id
            order by orders.ordered_at desc, orders.order_id
        ) as buyer_rank
    from order_buyers
    inner join orders
        on order_buyers.order_id = orders.order_id
    where order_buyers.first_name is not null
        or order_buyers.last_name is not null
        or order_buyers.country is not null

),

---------- purchases
order_summary as (

    select
        person_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as orders_count,
        sum(total_amount) as gross_revenue,
        sum(refunded_amount) as refunded_amount,
        sum(net_revenue) as net_revenue
    from orders
    where is_paid
    group by person_id

),

category_revenue as (

    select
        person_id,
        category,
        row_number() over (
            partition by person_id order by sum(line_amount) desc, category
        ) as category_rank
    from order_items
    where is_paid
    group by person_id, category

),

---------- consent: latest opt-in / opt-out per channel among the person's identifiers
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
        person_id,
        channel,
        status,
        row_number() over (
            partition by person_id, channel order by recorded_at desc, status
        ) as recency_rank
    from consent_persons
    where person_id is not null

),

consent_flags as (

    select
        person_id,
        {{ dbt.bool_or("channel = 'email' and status = 'opt_in'") }} as is_email_consented,
        {{ dbt.bool_or("channel = 'sms' and status = 'opt_in'") }} as is_sms_consented,
        {{ dbt.bool_or("channel = 'push' and status = 'opt_in'") }} as is_push_consented
    from latest_consents
    where recency_rank = 1
    group by person_id

),

---------- email engagement (aggregated per address first: the events table is large)
address_engagement as (

    select
        email,
        max(case when event_type = 'open' then occurred_at end) as last_email_open_at,
        max(case when event_type = 'click' then occurred_at end) as last_email_click_at
    from email_events
    where event_type in ('open', 'click')
    group by email

),

email_engagement as (

    select
        stitched.person_id,
        max(address_engagement.last_email_open_at) as last_email_open_at,
        max(address_engagement.last_email_click_at) as last_email_click_at
    from address_engagement
    inner join stitched
        on {{ identifier_key('email', 'address_engagement.email') }} = stitched.identifier_key
    group by stitched.person_id

),

---------- web activity, through the person's devices
device_activity as (

    select
        anonymous_id,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at
    from events
    where anonymous_id is not null
    group by anonymous_id

),

web_activity as (

    select
        stitched.person_id,
        min(device_activity.first_seen_at) as first_seen_at,
        max(device_activity.last_seen_at) as last_seen_at
    from device_activity
    inner join stitched
        on {{ identifier_key('anonymous_id', 'device_activity.anonymous_id') }}
        = stitched.identifier_key
    group by stitched.person_id

),

final as (

    select
        ---------- ids
        persons.person_id,

        ---------- contact (most recently seen usable identifier)
        best_email.identifier_value as email,
        best_phone.identifier_value as phone,
        coalesce(account_profile.first_name, order_buyer.first_name) as first_name,
        coalesce(account_profile.last_name, order_buyer.last_name) as last_name,
        coalesce(account_profile.country, order_buyer.country) as country,
        identifier_lists.customer_ids,
        identifier_lists.emails,
        identifier_lists.phones,
        cast(coalesce(identifier_lists.anonymous_id_count, 0) as {{ dbt.type_int() }})
            as anonymous_id_count,
        identifier_lists.customer_ids is null as is_guest_only,

        ---------- purchases
        order_summary.first_order_at,
        order_summary.last_order_at,
        cast(coalesce(order_summary.orders_count, 0) as {{ dbt.type_int() }}) as orders_count,
        cast(coalesce(order_summary.gross_revenue, 0) as {{ dbt.type_numeric() }})
            as gross_revenue,
        cast(coalesce(order_summary.refunded_amount, 0) as {{ dbt.type_numeric() }})
            as refunded_amount,
        cast(coalesce(order_summary.net_revenue, 0) as {{ dbt.type_numeric() }})
            as net_revenue,
        cast(
            order_summary.net_revenue / nullif(order_summary.orders_count, 0)
            as {{ dbt.type_numeric() }}
        ) as average_order_value,
        favourite.category as favourite_category,

        ---------- consent
        coalesce(consent_flags.is_email_consented, false) as is_email_consented,
        coalesce(consent_flags.is_sms_consented, false) as is_sms_consented,
        coalesce(consent_flags.is_push_consented, false) as is_push_consented,
        -- each channel with a leading comma, the first one cut off (two-argument rtrim
        -- reads its arguments the other way round on Spark)
        nullif(substr(
            {{ dbt.concat([
                "case when consent_flags.is_email_consented then ',email' else '' end",
                "case when consent_flags.is_sms_consented then ',sms' else '' end",
                "case when consent_flags.is_push_consented then ',push' else '' end",
            ]) }},
            2
        ), '') as consented_channels,

        ---------- engagement and activity
        email_engagement.last_email_open_at,
        email_engagement.last_email_click_at,
        web_activity.first_seen_at,
        web_activity.last_seen_at,
        identifier_lists.first_identified_at

    from persons
    left join identifier_lists
        on persons.person_id = identifier_lists.person_id
    left join ranked_contacts as best_email
        on persons.person_id = best_email.person_id
        and best_email.identifier_type = 'email'
        and best_email.recency_rank = 1
    left join ranked_contacts as best_phone
        on persons.person_id = best_phone.person_id
        and best_phone.identifier_type = 'phone'
        and best_phone.recency_rank = 1
    left join ranked_accounts as account_profile
        on persons.person_id = account_profile.person_id
        and account_profile.account_rank = 1
    left join ranked_order_buyers as order_buyer
        on persons.person_id = order_buyer.person_id
        and order_buyer.buyer_rank = 1
    left join order_summary
        on persons.person_id = order_summary.person_id
    left join category_revenue as favourite
        on persons.person_id = favourite.person_id
        and favourite.category_rank = 1
    left join consent_flags
        on persons.person_id = consent_flags.person_id
    left join email_engagement
        on persons.person_id = email_engagement.person_id
    left join web_activity
        on persons.person_id = web_activity.person_id

)

select * from final
