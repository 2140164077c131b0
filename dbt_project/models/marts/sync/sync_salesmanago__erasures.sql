-- Persons to erase in salesmanago (sync salesmanago_erasures, mode gdpr_delete): each is deleted once.

with

erased as (

    select * from {{ ref('erased_persons') }}

),

final as (

    select
        person_id,
        email
    from erased

)

select * from final
