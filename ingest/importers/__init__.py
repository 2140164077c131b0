"""Importers for real shop data into the raw contract (`ingest.contract`).

- `import_csv_orders`: a generic transactions/orders CSV with configurable column names.
- `import_shopify_orders`: Shopify's orders export CSV.

Both stream the file, write `<raw_dir>/<table>.parquet` with the contract's exact schema,
quarantine bad rows to `<raw_dir>/_rejected/orders.parquet` with a `RejectReason` code, and
return an `ImportReport`.
"""

from ingest.importers.common import ImportFileError, ImportReport, RejectReason
from ingest.importers.csv_orders import (
    DEFAULT_STATUS_MAP,
    CsvColumnMapping,
    CsvImportOptions,
    import_csv_orders,
)
from ingest.importers.shopify import import_shopify_orders

__all__ = [
    "DEFAULT_STATUS_MAP",
    "CsvColumnMapping",
    "CsvImportOptions",
    "ImportFileError",
    "ImportReport",
    "RejectReason",
    "import_csv_orders",
    "import_shopify_orders",
]
