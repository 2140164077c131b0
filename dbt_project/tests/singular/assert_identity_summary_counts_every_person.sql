-- The stitching summary's persons are exactly dim_customers' rows, and its unidentified
-- persons exactly the unidentified orders' persons.

select summary.persons, customers.persons as dim_customers_rows
from {{ ref('identity_stitching_summary') }} as summary
cross join (
    select count(*) as persons from {{ ref('dim_customers') }}
) as customers
where summary.persons <> customers.persons
