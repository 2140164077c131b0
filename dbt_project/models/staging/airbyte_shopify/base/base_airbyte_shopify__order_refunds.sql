-- One row per refund: the latest extracted version.

with

source as (

    select * from {{ source('airbyte_shopify', 'order_refunds') }}

),

versions as (

    select
        source.*,
        row_number() over (partition by id order by _airbyte_extracted_at desc) as version_rank
    from source

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as refund_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        note as refund_note,
        refund_line_items,
        order_adjustments,
        cast(created_at as {{ type_timestamptz() }}) as created_at

    from versions
    where version_rank = 1

)

select * from renamed
