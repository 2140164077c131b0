-- A holdout member's flow assignment never reaches HubSpot (control groups stay untreated).
select person_id
from {{ ref('sync_hubspot__contacts') }}
where is_holdout and current_audience is not null
