"""One asset per enabled sync in the sync YAML files (`reverse_etl/syncs/`, RW_SYNCS_DIR).

Each sync asset sits downstream of the dbt model it reads and is automated with
`AutomationCondition.eager()`: it runs after that model was rebuilt, never while the model
(or anything it depends on) is still being built, never when an upstream is missing, and
not while a blocking check of the model (a dbt test with severity error) fails.
Run stats (sent, changed, failed, skipped) are the materialization's metadata.
"""

import os
from pathlib import Path

import dagster as dg
from dagster_dbt import get_asset_key_for_model
from pydantic import Field

from orchestration.defs.dbt.assets import WAREHOUSE_POOL
from orchestration.resources import ReverseEtlResource, WarehouseResource
from warehouse.settings import get_settings

ACTIVATION_GROUP = "activation"
ERROR_RATE_CHECK = "sync_error_rate"


# After the model it reads was rebuilt, with nothing upstream missing or in progress, and
# only when the model's blocking checks (dbt tests with severity error) passed.
SYNC_CONDITION = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager, upstream tests passed")


def sync_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["activation", name])


class SyncRunConfig(dg.Config):
    dry_run: bool = Field(
        default=False, description="Plan only: log what would be sent; nothing is delivered."
    )
    full_resync: bool = Field(
        default=False, description="Resend every row, ignoring the last delivered state."
    )


def configured_syncs(syncs_dir: str | Path | None = None) -> list:
    """Enabled syncs, in name order (an invalid sync file fails loudly here)."""
    from reverse_etl.config import load_syncs

    directory = syncs_dir or get_settings().syncs_dir  # RW_SYNCS_DIR
    return sorted(
        (s for s in load_syncs(Path(directory)).values() if s.enabled), key=lambda s: s.name
    )


def missing_secrets(sync) -> list[str]:
    """Names of the credential environment variables the sync's destination needs but that
    are not set (`*_env` fields of the destination)."""
    names = [
        value
        for field, value in sync.destination.model_dump().items()
        if field.endswith("_env") and isinstance(value, str)
    ]
    return [name for name in names if not os.environ.get(name)]


def run_stats(result) -> dict[str, int]:
    """The four numbers operators watch, from a `reverse_etl.engine.RunResult`."""
    plan = result.plan
    return {
        "sent": int(result.sent),
        "changed": int(plan.creates + plan.updates + plan.removals),
        "failed": int(result.rejected),
        "skipped": int(plan.invalid + plan.excluded_no_consent + plan.excluded_holdout),
    }


def error_rate(result) -> float:
    return result.rejected / result.sent if result.sent else 0.0


def source_model(sync) -> str:
    return sync.source.split(".")[-1]


def _upstream_key(dbt_models: dg.AssetsDefinition, model: str) -> dg.AssetKey:
    try:
        return get_asset_key_for_model([dbt_models], model)
    except Exception:  # not (yet) a dbt model: keep the lineage visible anyway
        return dg.AssetKey([model])


def build_sync_asset(sync, dbt_models: dg.AssetsDefinition) -> dg.AssetsDefinition:
    key = sync_key(sync.name)
    destination = sync.destination.type

    @dg.multi_asset(
        name=f"sync_{sync.name}",
        specs=[
            dg.AssetSpec(
                key,
                deps=[_upstream_key(dbt_models, source_model(sync))],
                group_name=ACTIVATION_GROUP,
                description=(sync.description or f"Sync {sync.name}")
                + f" ({sync.mode} -> {destination}).",
                kinds={destination if destination != "file" else "json"},
                automation_condition=SYNC_CONDITION,
                skippable=True,  # a dry run delivers nothing
                metadata={
                    "source": sync.source,
                    "mode": sync.mode,
                    "destination": destination,
                    "primary_key": sync.primary_key,
                    "fields": dg.MetadataValue.json(dict(sync.fields)),
                },
            )
        ],
        check_specs=[
            dg.AssetCheckSpec(
                ERROR_RATE_CHECK,
                asset=key,
                description="Rows the destination rejected / rows sent stays at or below "
                "RW_SYNC_MAX_ERROR_RATE, and the run did not fail.",
            )
        ],
        pool=WAREHOUSE_POOL,
    )
    def _sync(
        context: dg.AssetExecutionContext,
        config: SyncRunConfig,
        warehouse: WarehouseResource,
        reverse_etl: ReverseEtlResource,
    ):
        from reverse_etl.destinations import DeliveryContext
        from reverse_etl.engine import SyncEngine

        missing = [] if config.dry_run else missing_secrets(sync)
        if missing:
            raise dg.Failure(
                f"sync {sync.name}: credentials not set: {', '.join(missing)} "
                "(environment variables named in the sync file)"
            )
        engine_settings = reverse_etl.engine_settings(warehouse.database)
        engine = SyncEngine(
            sync,
            warehouse.database,
            settings=engine_settings,
            context=DeliveryContext(
                run_id="pending",
                outbox_dir=engine_settings.outbox_dir,
                base_url=reverse_etl.map_base_url,
            ),
        )
        if config.dry_run:
            plan = engine.plan(full_resync=config.full_resync)
            context.log.info("dry run of %s: %s", sync.name, plan.to_dict())
            planned = {
                "planned_creates": plan.creates,
                "planned_updates": plan.updates,
                "planned_removals": plan.removals,
                "invalid": plan.invalid,
            }
            context.log_event(
                dg.AssetObservation(
                    asset_key=key,
                    metadata={
                        "dry_run": True,
                        **planned,
                        "sample": dg.MetadataValue.json(plan.sample),
                    },
                )
            )
            # nothing is delivered, so nothing can be rejected (the check must still report)
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name=ERROR_RATE_CHECK,
                passed=True,
                metadata={"dry_run": True, "error_rate": 0.0, **planned},
            )
            return
        result = engine.run(full_resync=config.full_resync)
        if result.status == "failed":
            raise dg.Failure(
                f"sync {sync.name} run {result.run_id} failed: {result.error}",
                metadata={"run_id": result.run_id, **run_stats(result)},
            )
        stats = run_stats(result)
        plan = result.plan
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                **stats,
                "status": result.status,
                "run_id": result.run_id,
                "source_rows": plan.source_rows,
                "creates": plan.creates,
                "updates": plan.updates,
                "removals": plan.removals,
                "invalid": plan.invalid,
                "excluded_no_consent": plan.excluded_no_consent,
                "excluded_holdout": plan.excluded_holdout,
                "api_calls": result.api_calls,
                "retries": result.retries,
                "throttled": result.throttled,
                "duration_s": round(result.duration_s, 2),
                **{f"step_{step}_s": round(sec, 2) for step, sec in result.steps_s.items()},
                "full_resync": config.full_resync,
            },
        )
        limit = get_settings().sync.max_error_rate
        rate = error_rate(result)
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=ERROR_RATE_CHECK,
            passed=rate <= limit,
            metadata={"error_rate": rate, "max_error_rate": limit, **stats},
        )
        if result.status != "success":  # partial: delivered, recorded above, but a failure
            raise dg.Failure(
                f"sync {sync.name} run {result.run_id} {result.status}: "
                f"{result.rejected} row(s) rejected (see `rw-sync status`)",
                metadata={"run_id": result.run_id, **stats},
            )

    return _sync


def build_sync_assets(dbt_models: dg.AssetsDefinition) -> list[dg.AssetsDefinition]:
    return [build_sync_asset(sync, dbt_models) for sync in configured_syncs()]
