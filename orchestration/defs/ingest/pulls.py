"""The API pulls (ingest/pull/, dlt) as assets upstream of the raw tables they feed.

A pull asset loads new and changed records into the pull's own dataset (a DuckDB file under
`<raw_dir>/_pull/`, incremental and resumable as `rw-ingest pull`); the raw tables it feeds
are then rewritten from everything pulled so far by `raw_tables` with `source: api` (the
`pull_apis` job runs both). A pull exists in the definitions only when the shop configures
its credentials (the `pull` section of warehouse/settings.py); otherwise the raw tables it
would feed say so in their metadata.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from pydantic import Field

from ingest.pull import RAW_TABLES
from orchestration.resources import WarehouseResource
from warehouse.settings import PullSettings, get_settings

API_GROUP = "api"


class PullConfig(dg.Config):
    since: str = Field(
        default="2000-01-01T00:00:00Z",
        description="First run only: pull records changed since (ISO 8601). Later runs "
        "continue from the last committed cursor.",
    )


class ShopifyPullConfig(PullConfig):
    page_size: int = Field(default=250, ge=1, le=250, description="Records per page.")


@dataclass(frozen=True)
class Pull:
    """One configured API pull: its asset, the raw tables it feeds and how to rewrite them."""

    name: str
    asset: dg.AssetsDefinition
    feeds: tuple[str, ...]
    write_raw: Callable[[Path], dict[str, int]]


def _materializations(
    keys: dict[str, dg.AssetKey], loaded: dict[str, int], database: Path
) -> Iterator[dg.MaterializeResult]:
    for table, key in keys.items():
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                # rows this run loaded into the table (and its nested tables): 0 = nothing new
                "rows_loaded": sum(
                    n for t, n in loaded.items() if t == table or t.startswith(f"{table}__")
                ),
                "dataset": dg.MetadataValue.path(str(database)),
            },
        )


def _shopify_pull() -> Pull:
    from ingest.pull.shopify import load_shopify, write_shopify_raw

    keys = {t: dg.AssetKey(["shopify_api", t]) for t in ("orders", "customers")}

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                key,
                description=f"Shopify Admin REST API `{table}.json`, pulled incrementally by "
                "updated_at with dlt (merged on id).",
                group_name=API_GROUP,
                kinds={"dlt", "duckdb"},
            )
            for table, key in keys.items()
        ],
        name="shopify_api_pull",
        can_subset=False,
    )
    def shopify_api_pull(
        context: dg.AssetExecutionContext, config: ShopifyPullConfig, warehouse: WarehouseResource
    ):
        """New and changed Shopify orders and customers (SHOPIFY_SHOP_URL,
        SHOPIFY_ACCESS_TOKEN)."""
        settings = get_settings().pull
        if not settings.shopify_configured:
            raise dg.Failure("set SHOPIFY_SHOP_URL and SHOPIFY_ACCESS_TOKEN")
        loaded = load_shopify(
            settings.shopify_shop_url,
            settings.shopify_access_token.get_secret_value(),
            warehouse.raw,
            since=config.since,
            page_size=config.page_size,
        )
        context.log.info("loaded %s", loaded)
        yield from _materializations(keys, loaded, warehouse.raw / "_pull" / "shopify_api.duckdb")

    return Pull("shopify", shopify_api_pull, RAW_TABLES["shopify"], write_shopify_raw)


def _klaviyo_pull() -> Pull:
    from ingest.pull.klaviyo import load_klaviyo_events, write_klaviyo_raw

    keys = {"email_events": dg.AssetKey(["klaviyo_api", "email_events"])}

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                keys["email_events"],
                description="Klaviyo Events API: received, opened, clicked, bounced, "
                "unsubscribed and spam events, pulled incrementally with dlt (merged on id).",
                group_name=API_GROUP,
                kinds={"dlt", "duckdb"},
            )
        ],
        name="klaviyo_api_pull",
    )
    def klaviyo_api_pull(
        context: dg.AssetExecutionContext, config: PullConfig, warehouse: WarehouseResource
    ):
        """New Klaviyo e-mail events (KLAVIYO_API_KEY)."""
        settings = get_settings().pull
        if not settings.klaviyo_configured:
            raise dg.Failure("set KLAVIYO_API_KEY")
        loaded = load_klaviyo_events(
            settings.klaviyo_api_key.get_secret_value(),
            warehouse.raw,
            base_url=settings.klaviyo_base_url,
            since=config.since,
        )
        context.log.info("loaded %s", loaded)
        yield from _materializations(keys, loaded, warehouse.raw / "_pull" / "klaviyo_api.duckdb")

    return Pull("klaviyo", klaviyo_api_pull, RAW_TABLES["klaviyo"], write_klaviyo_raw)


# what each pull needs, for the metadata of the raw tables when it is not configured
UNCONFIGURED = {
    "shopify": "not configured: set SHOPIFY_SHOP_URL and SHOPIFY_ACCESS_TOKEN and reload "
    "for the shopify_api pull assets",
    "klaviyo": "not configured: set KLAVIYO_API_KEY and reload for the klaviyo_api pull asset",
}


def configured_pulls(settings: PullSettings | None = None) -> list[Pull]:
    """The pulls whose credentials are set."""
    settings = settings or get_settings().pull
    pulls = []
    if settings.shopify_configured:
        pulls.append(_shopify_pull())
    if settings.klaviyo_configured:
        pulls.append(_klaviyo_pull())
    return pulls


def raw_tables_with_pulls(pulls: list[Pull]) -> dg.AssetsDefinition:
    """The raw tables with each configured pull upstream of the tables it feeds; a table a
    pull could feed that is not configured says how to configure it."""
    from orchestration.defs.ingest.assets import RAW_SPECS, build_raw_tables

    upstream: dict[str, list[dg.AssetKey]] = {}
    source: dict[str, str] = {}
    for pull in pulls:
        for table in pull.feeds:
            upstream.setdefault(table, []).extend(pull.asset.keys)
            source[table] = f"{pull.name}: run the pull_apis job"
    configured = {p.name for p in pulls}
    for name, tables in RAW_TABLES.items():
        if name not in configured:
            for table in tables:
                source.setdefault(table, UNCONFIGURED[name])

    def add(spec: dg.AssetSpec) -> dg.AssetSpec:
        table = spec.key.path[-1]
        if table not in source:
            return spec
        return spec.merge_attributes(
            deps=upstream.get(table, []), metadata={"api_pull": source[table]}
        )

    return build_raw_tables([add(spec) for spec in RAW_SPECS])


def pull_job(pulls: list[Pull], raw: dg.AssetsDefinition):
    """Pull every configured API, then rewrite the raw tables from what was pulled."""
    return dg.define_asset_job(
        "pull_apis",
        selection=dg.AssetSelection.assets(*[p.asset for p in pulls], raw),
        config={"ops": {"raw_tables": {"config": {"source": "api"}}}},
        description="Pull the configured shop and marketing APIs (incremental), then "
        "rewrite the raw tables they feed.",
    )
