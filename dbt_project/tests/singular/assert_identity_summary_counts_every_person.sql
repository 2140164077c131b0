-- The stitching summary's persons are exactly dim_customers' rows.

with

summary as (

    select persons from {{ ref('identity_stitching_summary') }}

),

customers as (

    select count(*) as dim_customers_rows from {{ ref('dim_customers') }}

)

select
    summary.persons,
    customers.dim_customers_rows
from summary
cross join customers
where summary.persons <> customers.dim_customers_rows
