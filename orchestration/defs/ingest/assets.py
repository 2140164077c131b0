"""The raw contract tables as assets, written by the sample-data generator or an importer."""

from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
from pydantic import Field

from ingest.contract import TABLES
from orchestration.defs.dbt.project import resolve_as_of
from orchestration.resources import WarehouseResource
from warehouse.settings import get_settings

RAW_GROUP = "raw"


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


class IngestConfig(dg.Config):
    """What to load into the raw contract (set it in the launchpad)."""

    source: Literal["sample", "shopify", "csv", "woocommerce", "prestashop", "magento", "api"] = (
        Field(
            default="sample",
            description="sample: generate a synthetic shop; shopify: a Shopify orders export; "
            "csv: any orders CSV (columns and format detected, or `mapping`); woocommerce, "
            "prestashop, magento: that platform's order export; api: the tables the "
            "configured API pulls feed, from everything pulled so far (job pull_apis).",
        )
    )
    customers: int = Field(default=2000, ge=10, description="Sample shop scale (persons).")
    seed: int = Field(default=42, description="Sample shop random seed.")
    as_of_date: str | None = Field(
        default=None,
        description="Last day of sample history (YYYY-MM-DD). Default: the run tag "
        "rw/as_of_date, else today in the shop's time zone.",
    )
    years: float = Field(default=3.0, gt=0, description="Years of sample history.")
    file: str | None = Field(default=None, description="File to import (shopify/csv).")
    mapping: str | None = Field(
        default=None, description="YAML/JSON column mapping and options for `csv`."
    )
    append: bool = Field(default=False, description="Merge an import into the existing raw tables.")
    max_rejected_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Fail the import (nothing written) when more than this share of rows "
        "is rejected.",
    )


def _column_schema(table: str) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(f.name, str(f.type)) for f in TABLES[table].schema]
    )


RAW_SPECS = [
    dg.AssetSpec(
        raw_key(name),
        description=table.description,
        group_name=RAW_GROUP,
        kinds={"parquet", "python"},
        skippable=True,  # an importer writes only the tables its source has
        metadata={
            "dagster/column_schema": _column_schema(name),
            "primary_key": ", ".join(table.primary_key),
        },
    )
    for name, table in TABLES.items()
]


def _today_in_shop() -> str:
    return datetime.now(ZoneInfo(get_settings().shop_timezone)).date().isoformat()


def _row_count(path: Path) -> int:
    with duckdb.connect() as con:
        (n,) = con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()
    return int(n)


def _load(
    config: IngestConfig, warehouse: WarehouseResource, as_of_date: str | None = None
) -> tuple[list[str], dict]:
    """Run the generator or importer; returns the tables written and run-level metadata."""
    if config.source == "sample":
        from ingest.generator import GenerationConfig, generate

        end = datetime.strptime(as_of_date or _today_in_shop(), "%Y-%m-%d").date()
        report = generate(
            GenerationConfig(
                customers=config.customers, seed=config.seed, end_date=end, years=config.years
            ),
            raw_dir=warehouse.raw,
            truth_dir=warehouse.truth,
        )
        meta = {
            "source": "sample",
            "customers": config.customers,
            "seed": config.seed,
            "end_date": str(end),
            "seconds": round(report.seconds, 1),
        }
        return list(report.row_counts), meta

    if config.source == "api":
        from orchestration.defs.ingest.pulls import configured_pulls

        pulls = configured_pulls()
        if not pulls:
            raise dg.Failure("source='api' needs a configured API pull (see .env.example)")
        written: dict[str, int] = {}
        for pull in pulls:
            try:
                written |= pull.write_raw(warehouse.raw)
            except FileNotFoundError as exc:
                raise dg.Failure(f"{exc}: materialize its pull asset first") from exc
        return list(written), {"source": "api", "pulls": ", ".join(p.name for p in pulls)}

    if not config.file:
        raise dg.Failure(f"source={config.source!r} needs `file` (the export to import)")
    from ingest.importers import (
        PLATFORMS,
        CsvImportOptions,
        ImportFileError,
        import_csv_orders,
        import_shopify_orders,
    )

    limit = config.max_rejected_share
    try:
        if config.source == "shopify":
            report = import_shopify_orders(
                config.file, warehouse.raw, append=config.append, max_rejected_share=limit
            )
        else:
            if config.source in PLATFORMS:
                options = PLATFORMS[config.source]
            elif config.mapping:
                options = CsvImportOptions.from_file(Path(config.mapping))
            else:
                options = CsvImportOptions()
            report = import_csv_orders(
                config.file,
                warehouse.raw,
                options,
                append=config.append,
                max_rejected_share=limit,
                importer=config.source,
            )
    except ImportFileError as exc:
        raise dg.Failure(str(exc)) from exc
    meta = {
        "source": config.source,
        "file": config.file,
        "input_rows": report.input_rows,
        "loaded_rows": report.loaded_rows,
        "rejected_rows": report.rejected_rows,
        "rejected_by_reason": dg.MetadataValue.json(report.rejected_by_reason),
        "orders": dg.MetadataValue.json(report.facts),
    }
    return [t for t in report.output_paths if t in TABLES], meta


def build_raw_tables(specs: list[dg.AssetSpec]) -> dg.AssetsDefinition:
    """The raw tables asset over `specs` (RAW_SPECS, with the configured API pulls upstream
    of the tables they feed: orchestration/defs/ingest/pulls.py)."""

    @dg.multi_asset(specs=specs, name="raw_tables", can_subset=False)
    def raw_tables(
        context: dg.AssetExecutionContext, config: IngestConfig, warehouse: WarehouseResource
    ):
        """Load the raw contract: a generated sample shop, an imported export or what the API
        pulls fetched. Rows that break the contract are quarantined (see `rejected_rows`),
        never dropped silently."""
        as_of = resolve_as_of(config.as_of_date, context.run.tags)
        written, meta = _load(config, warehouse, as_of)
        context.log.info("raw tables written: %s", ", ".join(written))
        for table in written:
            path = warehouse.raw / f"{table}.parquet"
            yield dg.MaterializeResult(
                asset_key=raw_key(table),
                metadata={
                    "dagster/row_count": _row_count(path),
                    "path": dg.MetadataValue.path(str(path)),
                    **meta,
                },
            )

    return raw_tables


raw_tables = build_raw_tables(RAW_SPECS)
