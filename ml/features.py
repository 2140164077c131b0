"""Load point-in-time features and labels from the warehouse; add BTYD predictions.

The features themselves are computed in SQL by dbt (`dbt_project/models/marts/ml/`):
`ml_customer_features` has one row per (person, cutoff) using only data before the cutoff,
`ml_labels` the outcomes in the windows after it. This module reads them, adds the BG/NBD
+ Gamma-Gamma predictions per cutoff (fitted on that cutoff's own history, so they are
point-in-time too), and decides which columns the models may use.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ml.models.btyd import BTYDModel
from warehouse.connections import Connection

log = logging.getLogger(__name__)

ID_COLUMNS = ["person_id", "cutoff_date"]
LABEL_COLUMNS = [
    "is_churned_next_90d",
    "has_order_next_7d",
    "has_order_next_30d",
    "net_revenue_next_365d",
    "orders_next_365d",
    "days_to_next_order",
    "days_to_next_order_capped",
    "is_label_complete_7d",
    "is_label_complete_30d",
    "is_label_complete_90d",
    "is_label_complete_365d",
]
BTYD_INPUTS = ["btyd_frequency", "btyd_recency_days", "btyd_tenure_days", "btyd_monetary_value"]
BTYD_OUTPUTS = [
    "btyd_p_alive",
    "btyd_p_no_order_7d",
    "btyd_p_no_order_30d",
    "btyd_p_no_order_90d",
    "btyd_expected_orders_365d",
    "btyd_expected_value_365d",
    "btyd_median_days_to_next_order",
]
NOT_FEATURES = set(ID_COLUMNS) | set(LABEL_COLUMNS) | {"data_end_date", "first_seen_date"}


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Model inputs: every numeric/boolean column that is not an id, label or metadata."""
    cols = []
    for col in frame.columns:
        if col in NOT_FEATURES:
            continue
        dtype = frame[col].dtype
        if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            cols.append(col)
    return cols


def load_frame(
    con: Connection,
    features_table: str = "ml_customer_features",
    labels_table: str | None = None,
    cutoffs: list | None = None,
    max_rows: int | None = None,
) -> pd.DataFrame:
    """Rows of `features_table` (joined with `labels_table` if given) for the given cutoffs.

    Feature columns are read as 32-bit floats (half the memory; HGB bins them anyway).
    With `max_rows`, a deterministic sample of persons (with all their cutoffs) is read
    when the table is larger. The SQL is portable (any warehouse engine).
    """
    relation = con.relation(features_table)
    types = con.columns(features_table)
    select = []
    for col, dtype in types.items():
        if col not in NOT_FEATURES and _is_numeric(dtype):
            value = f'f."{col}"'
            if _is_boolean(dtype):  # PostgreSQL casts booleans to numbers only via integer
                value = f"cast({value} as integer)"
            select.append(f'cast({value} as real) as "{col}"')
        else:
            select.append(f'f."{col}"')
    filters = []
    if cutoffs is not None:
        dates = ", ".join(f"date '{pd.Timestamp(c).date().isoformat()}'" for c in cutoffs)
        filters.append(f"f.cutoff_date in ({dates})" if dates else "1 = 0")
    if max_rows is not None:
        total = con.fetch_all(f"select count(*) from {relation}")[0][0]
        if total > max_rows:
            per_mille = max(1, int(1000 * max_rows / total))
            filters.append(f"{con.bucket('f.person_id', 1000)} < {per_mille}")
            log.info("sampling %d/1000 of persons (%d rows > %d)", per_mille, total, max_rows)
    where = ("where " + " and ".join(filters)) if filters else ""
    if labels_table:
        labels = con.relation(labels_table)
        label_cols = [c for c in con.columns(labels_table) if c not in ID_COLUMNS]
        label_select = "".join(f', l."{c}"' for c in label_cols)
        sql = (
            f"select {', '.join(select)}{label_select} "
            f"from {relation} as f left join {labels} as l "
            "on l.person_id = f.person_id and l.cutoff_date = f.cutoff_date "
            f"{where} order by f.cutoff_date, f.person_id"
        )
    else:
        sql = f"select {', '.join(select)} from {relation} as f {where} "
        sql += "order by f.cutoff_date, f.person_id"
    frame = con.fetch_df(sql)
    if features_table != "ml_customer_features" or labels_table:
        # Guard against label leakage: every column must be a point-in-time feature column
        # or a known label/metadata column (a renamed duplicate such as `x_1` would fail).
        allowed = set(table_columns(con, "ml_customer_features")) | set(NOT_FEATURES)
        unexpected = sorted(set(frame.columns) - allowed)
        if unexpected:
            raise ValueError(f"columns that are neither features nor labels: {unexpected}")
    frame["cutoff_date"] = pd.to_datetime(frame["cutoff_date"])
    frame["person_id"] = frame["person_id"].astype("str")
    for col in LABEL_COLUMNS:
        if col in frame.columns and frame[col].dtype == object:
            frame[col] = frame[col].astype("float64")
    return frame


_NUMERIC_TYPES = frozenset(
    [
        "double",
        "double precision",
        "float",
        "float4",
        "float8",
        "real",
        "integer",
        "int",
        "int2",
        "int4",
        "int8",
        "bigint",
        "smallint",
        "hugeint",
        "tinyint",
        "ubigint",
        "uinteger",
        "usmallint",
        "utinyint",
    ]
)


def _is_boolean(dtype: str) -> bool:
    return dtype.lower() in ("boolean", "bool")


def _is_numeric(dtype: str) -> bool:
    """Numeric or boolean, in the type names of DuckDB, PostgreSQL (int8, float8, numeric)
    and Spark (double, decimal(p,s))."""
    t = dtype.lower()
    return _is_boolean(t) or t in _NUMERIC_TYPES or t.startswith(("decimal", "numeric"))


def table_columns(con: Connection, table: str) -> list[str]:
    return list(con.columns(table))


def cutoffs_in(con: Connection, features_table: str) -> list[pd.Timestamp]:
    rows = con.fetch_all(
        f"select distinct cutoff_date from {con.relation(features_table)} order by 1"
    )
    return [pd.Timestamp(r[0]) for r in rows]


BTYD_MAX_FIT_ROWS = 200_000


def add_btyd(
    frame: pd.DataFrame, penalizer: float = 0.0, max_fit_rows: int = BTYD_MAX_FIT_ROWS
) -> tuple[pd.DataFrame, dict]:
    """Fit BG/NBD + Gamma-Gamma per cutoff on its buyers and add `btyd_*` predictions.

    Beyond `max_fit_rows` buyers the parameters are estimated on a deterministic sample
    (four parameters need far fewer customers) and predictions made for all of them.
    """
    out = {c: np.full(len(frame), np.nan, dtype="float32") for c in BTYD_OUTPUTS}
    fitted: dict[str, dict] = {}
    freq = frame["btyd_frequency"].to_numpy(dtype="float64", na_value=np.nan)
    for cutoff, idx in frame.groupby("cutoff_date", sort=True).indices.items():
        rows = idx[np.isfinite(freq[idx])]
        if len(rows) < 50:
            continue
        summary = pd.DataFrame(
            {
                "frequency": freq[rows],
                "recency": frame["btyd_recency_days"].to_numpy("float64")[rows],
                "T": frame["btyd_tenure_days"].to_numpy("float64")[rows],
                "monetary_value": np.nan_to_num(
                    frame["btyd_monetary_value"].to_numpy("float64")[rows], nan=0.0
                ),
            }
        )
        fit_on = summary
        if len(summary) > max_fit_rows:
            fit_on = summary.iloc[np.linspace(0, len(summary) - 1, max_fit_rows).astype(int)]
        try:
            model = BTYDModel(penalizer=penalizer).fit(fit_on)
        except (ValueError, FloatingPointError) as exc:  # pragma: no cover - degenerate data
            log.warning("BTYD fit failed at cutoff %s: %s", cutoff, exc)
            continue
        bg = model.bgnbd
        f, r, t = summary["frequency"], summary["recency"], summary["T"]
        pred = model.predict(summary, horizon_days=365.0)
        out["btyd_p_alive"][rows] = pred["probability_alive"]
        for days in (7, 30, 90):
            out[f"btyd_p_no_order_{days}d"][rows] = bg.probability_no_purchase(days, f, r, t)
        out["btyd_expected_orders_365d"][rows] = pred["expected_purchases"]
        out["btyd_expected_value_365d"][rows] = pred["expected_value"]
        out["btyd_median_days_to_next_order"][rows] = pred["median_days_to_next_purchase"]
        fitted[pd.Timestamp(cutoff).date().isoformat()] = model.to_dict()
    frame = frame.copy()
    for col, values in out.items():
        frame[col] = values
    return frame, fitted


def sample_rows(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """Deterministic sample of at most `max_rows` rows (hash of person and cutoff)."""
    if len(frame) <= max_rows:
        return frame
    key = frame["person_id"].astype("str") + "|" + frame["cutoff_date"].astype("str")
    h = pd.util.hash_pandas_object(key, index=False, hash_key=f"{seed:016d}"[:16]).to_numpy()
    keep = np.argsort(h, kind="stable")[:max_rows]
    return frame.iloc[np.sort(keep)]
