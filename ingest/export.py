"""Write a shop's raw orders as a plain transactions CSV (the generic importer's format).

Used to put generated data through the real importer in tests and benchmarks: one row per
order line with the order's customer key, id, time, total, contact and item columns.
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def export_transactions_csv(raw_dir: Path, csv_path: Path) -> int:
    """Write `csv_path` from `raw_dir`'s orders and order_items; returns the data rows."""
    raw_dir, csv_path = Path(raw_dir), Path(csv_path)
    with duckdb.connect() as con:
        con.execute(
            f"""
            copy (
                select
                    coalesce(o.customer_id, o.email, o.phone, o.order_id) as customer_id,
                    o.order_id,
                    strftime(o.ordered_at, '%Y-%m-%d %H:%M:%S') as ordered_at,
                    o.total as amount,
                    o.email,
                    o.phone,
                    o.currency,
                    o.status,
                    i.product_id,
                    i.quantity,
                    i.unit_price,
                    i.discount as line_discount
                from read_parquet('{raw_dir / "orders.parquet"}') as o
                left join read_parquet('{raw_dir / "order_items.parquet"}') as i
                    using (order_id)
                order by o.order_id, i.line_number
            ) to '{csv_path}' (header, delimiter ',')
            """
        )
        (rows,) = con.execute(f"select count(*) from read_csv('{csv_path}')").fetchone()
    return rows
