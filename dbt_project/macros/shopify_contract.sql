{#- The raw contract's shop tables from a Shopify loader's tables. Each loader's base
    models (staging/<loader>_shopify/base/) bring its tables to one shape (ids as strings,
    money as decimal(18, 2), UTC timestamps, soft deletes as is_deleted); these macros map
    that shape onto the contract, so every loader maps Shopify the same way (and the same way
    as the Shopify orders export importer: product keys, statuses, consent). Arguments are
    the base relations. -#}


{#- Orders: deleted ones left out; shipping = sum of the shipping lines; the first discount code.
    A partially_paid order is revenue for what was paid, as the orders export's Total -
    Outstanding Balance: from the orders' `total_outstanding` (Airbyte), or, where the loader
    has no such column, from the order's `transactions` (Fivetran): Shopify's successful
    `sale` and `capture` transactions are the money taken (an `authorization` only holds it;
    refunds are counted by the refunds model). -#}
{% macro shopify_contract_orders(orders, shipping_lines, discount_codes, transactions=none) %}
with

orders as (

    select * from {{ orders }}

),

shipping_lines as (

    select * from {{ shipping_lines }}

),

discount_codes as (

    select * from {{ discount_codes }}

),

payments as (

    {% if transactions is none -%}
    select
        order_id,
        total_price - total_outstanding as paid_amount
    from orders
    {%- else -%}
    select
        order_id,
        sum(amount) as paid_amount
    from {{ transactions }}
    where kind in ('sale', 'capture')
        and status = 'success'
        and not is_test
    group by 1
    {%- endif %}

),

shipping as (

    select
        order_id,
        sum(price) as shipping
    from shipping_lines
    group by 1

),

first_codes as (

    select
        order_id,
        discount_code,
        row_number() over (partition by order_id order by code_index) as code_rank
    from discount_codes
    where discount_code is not null

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.email,
        coalesce(orders.phone, orders.billing_address_phone, orders.shipping_address_phone) as phone,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        orders.created_at as ordered_at,
        {{ shopify_order_status(
            'orders.financial_status', 'orders.cancelled_at', 'payments.paid_amount'
        ) }} as status,
        upper(orders.currency) as currency,
        orders.subtotal_price as subtotal,
        orders.total_discounts as discount,
        {{ money('coalesce(shipping.shipping, 0)') }} as shipping,
        orders.total_tax as tax,
        case
            when orders.financial_status = 'partially_paid' and payments.paid_amount is not null
                then {{ money('payments.paid_amount') }}
            else orders.total_price
        end as total,
        first_codes.discount_code,
        orders.billing_address_first_name as first_name,
        orders.billing_address_last_name as last_name,
        upper(orders.billing_address_country_code) as country

    from orders
    left join shipping
        on orders.order_id = shipping.order_id
    left join payments
        on orders.order_id = payments.order_id
    left join first_codes
        on orders.order_id = first_codes.order_id
        and first_codes.code_rank = 1
    where not orders.is_deleted

)

select * from final
{% endmacro %}


{#- Order lines of orders not deleted; line_number follows the line's position. -#}
{% macro shopify_contract_order_items(orders, order_lines) %}
with

orders as (

    select * from {{ orders }}

),

order_lines as (

    select * from {{ order_lines }}

),

final as (

    select
        order_lines.order_id,
        cast(row_number() over (
            partition by order_lines.order_id
            order by order_lines.line_index, order_lines.order_line_id
        ) as {{ dbt.type_int() }}) as line_number,
        {{ shopify_product_id('order_lines.sku', 'order_lines.line_name') }} as product_id,
        order_lines.quantity,
        order_lines.price as unit_price,
        order_lines.total_discount as discount

    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    where not orders.is_deleted

)

select * from final
{% endmacro %}


{#- Products as the order lines name them, with the latest line's name and price. -#}
{% macro shopify_contract_products(orders, order_lines, products) %}
with

orders as (

    select * from {{ orders }}

),

order_lines as (

    select * from {{ order_lines }}

),

shopify_products as (

    select * from {{ products }}

),

lines as (

    select
        {{ shopify_product_id('order_lines.sku', 'order_lines.line_name') }} as product_id,
        nullif(trim(order_lines.sku), '') as sku,
        order_lines.line_name,
        coalesce(shopify_products.product_type, nullif(trim(order_lines.vendor), ''))
            as category,
        order_lines.price,
        row_number() over (
            partition by {{ shopify_product_id('order_lines.sku', 'order_lines.line_name') }}
            order by orders.created_at desc, order_lines.order_line_id desc
        ) as recency_rank
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    left join shopify_products
        on order_lines.shopify_product_id = shopify_products.shopify_product_id
        and not shopify_products.is_deleted
    where not orders.is_deleted

),

final as (

    select
        product_id,
        sku,
        line_name as name,
        category,
        price,
        cast(null as decimal(18, 2)) as unit_cost,
        cast(null as {{ dbt.type_boolean() }}) as is_consumable,
        cast(null as {{ dbt.type_int() }}) as replenishment_days
    from lines
    where recency_rank = 1

)

select * from final
{% endmacro %}


{#- Customers; country = billing country of the latest order. -#}
{% macro shopify_contract_customers(customers, orders) %}
with

customers as (

    select * from {{ customers }}

),

orders as (

    select * from {{ orders }}

),

latest_countries as (

    select
        customer_id,
        billing_address_country_code as country,
        row_number() over (
            partition by customer_id order by created_at desc, order_id desc
        ) as recency_rank
    from orders
    where customer_id is not null
        and not is_deleted
        and billing_address_country_code is not null

),

final as (

    select
        customers.customer_id,
        customers.email,
        customers.phone,
        customers.first_name,
        customers.last_name,
        upper(latest_countries.country) as country,
        customers.created_at,
        customers.updated_at
    from customers
    left join latest_countries
        on customers.customer_id = latest_countries.customer_id
        and latest_countries.recency_rank = 1

)

select * from final
{% endmacro %}


{#- Refunds with money returned: refunded lines - order adjustments (see the models). -#}
{% macro shopify_contract_refunds(orders, refunds, refund_lines, adjustments) %}
with

refunds as (

    select * from {{ refunds }}

),

line_refunds as (

    select * from {{ refund_lines }}

),

adjustments as (

    select * from {{ adjustments }}

),

orders as (

    select * from {{ orders }}

),

refunded_lines as (

    select
        refund_id,
        sum(coalesce(subtotal, 0)) as subtotal,
        sum(coalesce(total_tax, 0)) as total_tax
    from line_refunds
    group by 1

),

refund_adjustments as (

    select
        refund_id,
        sum(coalesce(amount, 0)) as amount,
        sum(coalesce(tax_amount, 0)) as tax_amount
    from adjustments
    group by 1

),

amounts as (

    select
        refunds.order_id,
        refunds.created_at as refunded_at,
        coalesce(refunded_lines.subtotal, 0)
        + case when orders.has_taxes_included then 0
            else coalesce(refunded_lines.total_tax, 0) end
        - coalesce(refund_adjustments.amount, 0)
        - case when orders.has_taxes_included then 0
            else coalesce(refund_adjustments.tax_amount, 0) end as amount
    from refunds
    inner join orders
        on refunds.order_id = orders.order_id
    left join refunded_lines
        on refunds.refund_id = refunded_lines.refund_id
    left join refund_adjustments
        on refunds.refund_id = refund_adjustments.refund_id
    where not orders.is_deleted

),

final as (

    select
        order_id,
        refunded_at,
        {{ money('amount') }} as amount,
        -- Shopify refunds carry a free-text note, not a coded reason
        'shopify_refund' as reason
    from amounts
    where amount > 0

)

select * from final
{% endmacro %}


{#- Consents: checkout answers per order and customers' email marketing consent state. -#}
{% macro shopify_contract_consents(loader, contract_orders, orders, customers) %}
with

orders as (

    select * from {{ contract_orders }}

),

shopify_orders as (

    select * from {{ orders }}

),

customers as (

    select * from {{ customers }}

),

checkout_answers as (

    select
        orders.email,
        orders.phone,
        orders.customer_id,
        case when orders.email is not null then 'email' else 'sms' end as channel,
        case when shopify_orders.has_buyer_accepted_marketing then 'opt_in' else 'opt_out' end
            as status,
        '{{ loader }}_shopify_order' as source,
        'consent' as legal_basis,
        orders.ordered_at as recorded_at
    from orders
    inner join shopify_orders
        on orders.order_id = shopify_orders.order_id
    where shopify_orders.has_buyer_accepted_marketing is not null
        and (orders.email is not null or orders.phone is not null)

),

customer_states as (

    select
        email,
        phone,
        customer_id,
        'email' as channel,
        case email_marketing_consent_state
            when 'subscribed' then 'opt_in' else 'opt_out'
        end as status,
        '{{ loader }}_shopify_customer' as source,
        'consent' as legal_basis,
        email_marketing_consent_updated_at as recorded_at
    from customers
    -- not_subscribed / pending / invalid are no decision of the customer
    where email_marketing_consent_state in ('subscribed', 'unsubscribed')
        and email_marketing_consent_updated_at is not null

),

final as (

    select * from checkout_answers
    union all
    select * from customer_states

)

select * from final
{% endmacro %}
