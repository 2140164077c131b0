"""Importers for real shop data into the raw contract (`ingest.contract`).

- `import_csv_orders`: any orders CSV; columns, encoding, delimiter, decimal comma and date
  format are detected unless given (`plan_import` / `rw-ingest inspect` show what).
- `PLATFORMS`: presets of `import_csv_orders` for WooCommerce, PrestaShop and Magento 2
  order exports (one module each).
- `import_shopify_orders`: Shopify's orders export CSV (its own layout: order-level values
  only on an order's first row).

All stream the file, write `<raw_dir>/<table>.parquet` with the contract's exact schema,
quarantine bad rows to `<raw_dir>/_rejected/orders.parquet` with a `RejectReason` code, and
return an `ImportReport`.
"""

from ingest.importers import magento, prestashop, woocommerce
from ingest.importers.common import (
    ImportFileError,
    ImportReport,
    RejectReason,
    TooManyRejectedError,
)
from ingest.importers.csv_orders import (
    DEFAULT_STATUS_MAP,
    CsvColumnMapping,
    CsvImportOptions,
    Plan,
    import_csv_orders,
    plan_import,
)
from ingest.importers.shopify import import_shopify_orders

# `--format` name -> the platform's preset options for `import_csv_orders`
PLATFORMS: dict[str, CsvImportOptions] = {
    m.NAME: m.OPTIONS for m in (woocommerce, prestashop, magento)
}

__all__ = [
    "DEFAULT_STATUS_MAP",
    "PLATFORMS",
    "CsvColumnMapping",
    "CsvImportOptions",
    "ImportFileError",
    "ImportReport",
    "Plan",
    "RejectReason",
    "TooManyRejectedError",
    "import_csv_orders",
    "import_shopify_orders",
    "plan_import",
]
