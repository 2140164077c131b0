{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='fail',
    )
}}
-- Every unsuppressed audience qualification the warehouse has seen (consented, not
-- bounced, not a price-only or personal-outreach customer...), insert-only: one row per
-- (person, audience, entered_at) the first time a build sees it, with that build's as-of
-- date. Audiences whose past cannot be replayed from raw data (at-risk VIPs, unengaged
-- subscribers) get their entries for the lift model from here, from the first build on.
-- full_refresh=false: history is state, `dbt build --full-refresh` leaves it alone.

with

candidates as (

    select * from {{ ref('audience_candidates') }}
    where is_automated
        and not is_suppressed

),

as_of as (

    select * from {{ ref('segmentation_as_of') }}

),

new_rows as (

    select
        candidates.person_id,
        candidates.audience,
        candidates.entered_at,
        candidates.entry_reason
    from candidates
    {% if is_incremental() %}
        where not exists (
                select 1
                from {{ this }} as seen
                where seen.person_id = candidates.person_id
                    and seen.audience = candidates.audience
                    and seen.entered_at = candidates.entered_at
            )
    {% endif %}

),

final as (

    select
        new_rows.person_id,
        new_rows.audience,
        cast(new_rows.entered_at as {{ type_timestamptz() }}) as entered_at,
        new_rows.entry_reason,
        as_of.as_of_date as first_seen_as_of_date,
        cast({{ dbt.current_timestamp() }} as {{ type_timestamptz() }}) as recorded_at
    from new_rows
    cross join as_of

)

select * from final
