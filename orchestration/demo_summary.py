"""Print what `make demo` built: row counts, persons, stitching figures, where things are.

Plain Python (no Dagster import) so it runs right after the dbt build.
"""

from __future__ import annotations

import duckdb
from rich.console import Console
from rich.table import Table

from warehouse.settings import get_settings

MART_TABLES = [
    ("staging", "stg_shop__orders"),
    ("staging", "stg_shop__order_items"),
    ("staging", "stg_shop__events"),
    ("core", "dim_customers"),
    ("core", "fct_orders"),
    ("core", "fct_order_items"),
    ("core", "fct_person_merges"),
    ("core", "identity_excluded_identifiers"),
]


def main() -> None:
    settings = get_settings()
    console = Console()
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        counts = Table(title="Warehouse tables", show_edge=False)
        counts.add_column("table")
        counts.add_column("rows", justify="right")
        for schema, name in MART_TABLES:
            (rows,) = con.execute(f"select count(*) from {schema}.{name}").fetchone()
            counts.add_row(f"{schema}.{name}", f"{rows:,}")
        console.print(counts)

        summary = con.execute("select * from core.identity_stitching_summary").fetchone()
        columns = [c[0] for c in con.execute("describe core.identity_stitching_summary").fetchall()]
        stats = dict(zip(columns, summary, strict=True))
        stitching = Table(title="Identity stitching", show_edge=False)
        stitching.add_column("figure")
        stitching.add_column("value", justify="right")
        for key, value in stats.items():
            stitching.add_row(key.replace("_", " "), f"{value:,}")
        if stats["guest_orders"]:
            share = stats["guest_orders_stitched"] / stats["guest_orders"]
            stitching.add_row("guest orders linked to a person", f"{share:.1%}")
        console.print(stitching)

        excluded = con.execute(
            """
            select identifier_key, exclusion_type, linked_identifier_count, record_count
            from core.identity_excluded_identifiers
            order by record_count desc
            limit 8
            """
        ).fetchall()
        if excluded:
            junk = Table(title="Identifiers kept out of the graph (top 8)", show_edge=False)
            for column in ("identifier", "why", "linked ids", "records"):
                junk.add_column(column)
            for key, kind, linked, records in excluded:
                junk.add_row(key, kind, f"{linked:,}", f"{records:,}")
            console.print(junk)

    console.print(f"\nDuckDB warehouse: [bold]{settings.duckdb_path}[/bold]")
    console.print(f"Raw Parquet:      {settings.raw_dir}")
    console.print(
        'Query it:         .venv/bin/python -c "import duckdb; '
        f"print(duckdb.connect('{settings.duckdb_path}').sql('from core.dim_customers limit 5'))\""
    )
    report = settings.data_dir / "reports" / "retention.html"
    if report.exists():
        console.print(f"Retention report: {report}")
    console.print(
        "dbt docs:         cd dbt_project && ../.venv/bin/dbt docs serve --port 8080 "
        "(then open http://127.0.0.1:8080)"
    )
    console.print("Dagster UI:       make ui (then open http://127.0.0.1:3000)")


if __name__ == "__main__":
    main()
