with

source as (

    select * from {{ shop_relation('products') }}

),

renamed as (

    select
        ---------- ids
        product_id,
        sku,

        ---------- descriptors
        name as product_name,
        coalesce(lower(nullif(trim(category), '')), 'uncategorised') as category,
        coalesce(is_consumable, false) as is_consumable,
        -- null when the catalog does not say (imported catalogs): cycles are then inferred
        is_consumable as catalog_is_consumable,
        replenishment_days,

        ---------- amounts
        price,
        unit_cost

    from source

)

select * from renamed
