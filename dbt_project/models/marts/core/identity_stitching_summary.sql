-- One row of identity-resolution figures for the run: what went in, what came out.

with

records as (

    select * from {{ ref('int_identity_records') }}

),

identifiers as (

    select * from {{ ref('int_identifiers_stitched') }}

),

edges as (

    select * from {{ ref('int_identity_edges') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

invalid as (

    select * from {{ ref('int_identifiers_invalid') }}

),

person_sizes as (

    select
        person_id,
        count(*) as identifier_count
    from identifiers
    where person_id is not null
    group by person_id

),

record_counts as (

    select count(*) as records from records

),

identifier_counts as (

    select
        count(*) as identifiers,
        sum(case when is_blocked then 1 else 0 end) as blocked_identifiers,
        sum(case when is_capped then 1 else 0 end) as capped_identifiers
    from identifiers

),

edge_counts as (

    select count(*) as edges from edges

),

-- persons as dim_customers has them: stitched components plus one per unidentified order
customer_counts as (

    select count(*) as persons from customers

),

unidentified_counts as (

    select count(distinct person_id) as unidentified_persons
    from orders
    where is_unidentified

),

invalid_counts as (

    select count(*) as invalid_identifiers from invalid

),

person_counts as (

    select
        count(*) as identified_persons,
        sum(case when identifier_count > 1 then 1 else 0 end) as persons_with_several_identifiers,
        max(identifier_count) as largest_person_identifiers
    from person_sizes

),

order_counts as (

    select
        count(*) as orders,
        sum(case when is_unidentified then 1 else 0 end) as unidentified_orders,
        sum(case when is_guest_checkout and not is_unidentified then 1 else 0 end)
            as guest_orders_stitched,
        sum(case when is_guest_checkout then 1 else 0 end) as guest_orders
    from orders

),

final as (

    select
        cast(record_counts.records as {{ dbt.type_bigint() }}) as records,
        cast(identifier_counts.identifiers as {{ dbt.type_bigint() }}) as identifiers,
        cast(edge_counts.edges as {{ dbt.type_bigint() }}) as edges,
        cast(customer_counts.persons as {{ dbt.type_bigint() }}) as persons,
        cast(person_counts.identified_persons as {{ dbt.type_bigint() }}) as identified_persons,
        cast(unidentified_counts.unidentified_persons as {{ dbt.type_bigint() }})
            as unidentified_persons,
        cast(person_counts.persons_with_several_identifiers as {{ dbt.type_bigint() }})
            as persons_with_several_identifiers,
        cast(person_counts.largest_person_identifiers as {{ dbt.type_bigint() }})
            as largest_person_identifiers,
        cast(identifier_counts.blocked_identifiers as {{ dbt.type_bigint() }})
            as blocked_identifiers,
        cast(identifier_counts.capped_identifiers as {{ dbt.type_bigint() }})
            as capped_identifiers,
        cast(invalid_counts.invalid_identifiers as {{ dbt.type_bigint() }})
            as invalid_identifiers,
        cast(order_counts.orders as {{ dbt.type_bigint() }}) as orders,
        cast(order_counts.guest_orders as {{ dbt.type_bigint() }}) as guest_orders,
        cast(order_counts.guest_orders_stitched as {{ dbt.type_bigint() }})
            as guest_orders_stitched,
        cast(order_counts.unidentified_orders as {{ dbt.type_bigint() }}) as unidentified_orders
    from record_counts
    cross join identifier_counts
    cross join edge_counts
    cross join person_counts
    cross join customer_counts
    cross join unidentified_counts
    cross join invalid_counts
    cross join order_counts

)

select * from final
