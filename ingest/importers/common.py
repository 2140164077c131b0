"""Shared machinery of the file importers: streaming CSV load, row validation, quarantine,
Parquet output in the raw contract, and the import report.

How an import runs:

1. The CSV is streamed with pyarrow (every column read as a string, quoted newlines
   allowed) into a DuckDB workspace, one batch at a time; DuckDB's memory is capped
   (`RW_IMPORT_MEMORY_LIMIT`, default 4GB) and it spills to a temporary directory beyond
   that, so a file of several GB never has to fit in memory. Each record gets
   `source_row`, its 1-based data row number (the header is not counted; a record whose
   quoted text spans several lines counts once; blank lines are skipped). Records that
   cannot be split into the header's columns are quarantined as `malformed_row`.
2. The importer validates and types the rows in SQL and writes a `row_status` table
   (`source_row`, `reason`) with one row per loaded record: `reason` is null for rows
   that are loaded, else `"<code>: <message>"` (codes: `RejectReason`).
3. `ImportSession.finish` writes the contract tables as Parquet with the exact schema of
   `ingest.contract.TABLES`, quarantines rejected rows (original values as strings plus
   `source_file`, `source_row`, `reason`) to `<raw_dir>/_rejected/orders.parquet`, and
   asserts that loaded + rejected == input rows.
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ingest.contract import REJECTED_DIR, TABLES

if TYPE_CHECKING:
    from rich.console import RenderableType

logger = logging.getLogger(__name__)

# Rejected input rows (one per order line or order row) are quarantined under this table.
REJECT_TABLE = "orders"
_BLOCK_SIZE = 16 << 20  # bytes per parsed CSV block; one quoted value must fit in one block
_DECIMAL = "DECIMAL(18, 2)"
_MEMORY_LIMIT = "4GB"  # DuckDB memory for one import; env RW_IMPORT_MEMORY_LIMIT overrides


class RejectReason(StrEnum):
    """Stable codes for quarantined rows. The `reason` column reads `"<code>: <message>"`."""

    MALFORMED_ROW = "malformed_row"  # the record does not split into the header's columns
    MISSING_REQUIRED = "missing_required"  # a required key or value is empty
    UNPARSEABLE_TIMESTAMP = "unparseable_timestamp"
    NON_NUMERIC = "non_numeric"  # money or quantity that is not a plain decimal / integer
    NEGATIVE_VALUE = "negative_value"  # negative money or quantity
    INVALID_VALUE = "invalid_value"  # unknown status, malformed currency code
    DUPLICATE_ORDER_ID = "duplicate_order_id"  # same order id with conflicting order data
    ORPHAN_LINE_ITEM = "orphan_line_item"  # Shopify line row without its order's first row
    RELATED_ROW_REJECTED = "related_row_rejected"  # another row of the same order was rejected
    ALREADY_IMPORTED = "already_imported"  # --append: the order id is already in raw orders


class ImportFileError(Exception):
    """The file cannot be imported at all (missing, unreadable, not a CSV, lacks columns)."""


class TooManyRejectedError(ImportFileError):
    """More than the allowed share of rows was rejected; nothing was written."""

    def __init__(self, message: str, rejected_by_reason: dict[str, int]):
        super().__init__(message)
        self.rejected_by_reason = rejected_by_reason


# --------------------------------------------------------------------------- report


@dataclass
class ImportReport:
    """What one import read, loaded and quarantined."""

    source_file: Path
    importer: str
    mode: Literal["replace", "append"]
    input_rows: int
    loaded_rows: int
    rejected_rows: int
    rejected_by_reason: dict[str, int]
    tables: dict[str, int]  # rows this import contributed, per contract table
    table_totals: dict[str, int]  # rows in each written Parquet file after the import
    output_paths: dict[str, Path]
    rejected_path: Path | None
    elapsed_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    # figures about the loaded orders, e.g. unidentified_orders, zero_value_orders
    facts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"{self.importer} import of {self.source_file} ({self.mode}): "
            f"{self.input_rows} input rows, {self.loaded_rows} loaded, "
            f"{self.rejected_rows} rejected in {self.elapsed_seconds:.1f}s"
        ]
        for table, n in self.tables.items():
            lines.append(f"  {table:<12} {n:>10} rows  -> {self.output_paths[table]}")
        for reason, n in sorted(self.rejected_by_reason.items()):
            lines.append(f"  rejected {reason:<24} {n:>8}")
        if self.rejected_path is not None and self.rejected_rows:
            lines.append(f"  quarantine: {self.rejected_path}")
        lines.extend(f"  {name.replace('_', ' '):<26} {n:>8}" for name, n in self.facts.items())
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def to_rich(self) -> RenderableType:
        from rich.console import Group
        from rich.table import Table

        head = Table(title=f"{self.importer} import: {self.source_file.name} ({self.mode})")
        head.add_column("table")
        head.add_column("loaded", justify="right")
        head.add_column("total in raw", justify="right")
        head.add_column("path", overflow="fold")
        for table, n in self.tables.items():
            total = self.table_totals.get(table, n)
            head.add_row(table, f"{n:,}", f"{total:,}", str(self.output_paths[table]))
        rows = Table(title="input rows")
        rows.add_column("outcome")
        rows.add_column("rows", justify="right")
        rows.add_row("input", f"{self.input_rows:,}")
        rows.add_row("loaded", f"{self.loaded_rows:,}")
        for reason, n in sorted(self.rejected_by_reason.items()):
            rows.add_row(f"rejected: {reason}", f"{n:,}", style="yellow")
        parts: list = [head, rows]
        if self.facts:
            facts = Table(title="loaded orders")
            facts.add_column("figure")
            facts.add_column("count", justify="right")
            for name, n in self.facts.items():
                facts.add_row(name.replace("_", " "), f"{n:,}")
            parts.append(facts)
        if self.rejected_path is not None and self.rejected_rows:
            parts.append(f"Quarantined rows: {self.rejected_path}")
        parts.extend(f"Note: {n}" for n in self.notes)
        return Group(*parts)


# --------------------------------------------------------------------------- SQL helpers


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# A currency written next to an amount (`€12.50`, `12,50 zł`, `45.00 EUR`): stripped before
# parsing; `currency_from_amount_sql` reads it as the order's currency when no column has one.
_SYMBOL_CURRENCIES = (("€", "EUR"), ("zł", "PLN"), ("£", "GBP"), ("kč", "CZK"), ("$", "USD"))
_CURRENCY_AFFIX = r"^([A-Z]{3}|€|\$|£|zł|Kč)[ ]*|[ ]*([A-Z]{3}|€|\$|£|zł|Kč)$"
_SPACES = r"[ \x{00A0}\x{202F}']"  # thousands separators: space, (narrow) no-break space, '
_SPACE_GROUPED = r"[+-]?[0-9]{1,3}([ \x{00A0}\x{202F}'][0-9]{3})+([.,][0-9]*)?"


def money_sql(raw: str, decimal_comma: bool = False) -> str:
    """A money string -> DECIMAL(18,2); null when it is not a number.

    Accepts a currency symbol or ISO code before or after the number and spaces between
    groups of three digits (`1 234,50`). With `decimal_comma` the decimal separator is `,`
    and `.` may separate thousands (`1.234,50`); without it `,` may only separate thousands
    (`1,234.50`), so `12,50` is not a number.
    """
    no_currency = f"regexp_replace(trim({raw}), {lit(_CURRENCY_AFFIX)}, '', 'g')"
    bare = (
        f"case when regexp_full_match({no_currency}, {lit(_SPACE_GROUPED)}) "
        f"then regexp_replace({no_currency}, {lit(_SPACES)}, '', 'g') else {no_currency} end"
    )
    if decimal_comma:
        plain = (
            f"case when regexp_full_match({bare}, '[+-]?[0-9]{{1,3}}([.][0-9]{{3}})+(,[0-9]*)?') "
            f"then replace(replace({bare}, '.', ''), ',', '.') "
            f"when regexp_full_match({bare}, '[+-]?[0-9]*(,[0-9]*)?') "
            f"then replace({bare}, ',', '.') else {bare} end"
        )
    else:
        plain = (
            f"case when regexp_full_match({bare}, '[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+([.][0-9]*)?') "
            f"then replace({bare}, ',', '') else {bare} end"
        )
    return (
        f"case when regexp_full_match({plain}, '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)') "
        f"then try_cast({plain} as {_DECIMAL}) end"
    )


def currency_from_amount_sql(raw: str) -> str:
    """The currency written next to an amount (`€`, `zł`, `EUR`, ...), else null."""
    whens = " ".join(
        f"when contains(lower({raw}), {lit(sym.lower())}) then {lit(code)}"
        for sym, code in _SYMBOL_CURRENCIES
    )
    iso = f"nullif(regexp_extract({raw}, '([A-Z]{{3}})', 1), '')"
    return f"case {whens} else {iso} end"


def first_name_sql(full_name: str) -> str:
    """First word of a full name (`Ewa Maria Lis` -> `Ewa`); null for a null name."""
    return f"nullif(split_part(trim({full_name}), ' ', 1), '')"


def last_name_sql(full_name: str) -> str:
    """The rest of a full name after its first word (`Ewa Maria Lis` -> `Maria Lis`)."""
    return (
        f"nullif(trim(substr(trim({full_name}), "
        f"length(split_part(trim({full_name}), ' ', 1)) + 1)), '')"
    )


UNNAMED_PRODUCT_ID = "unnamed-product"  # the product of a line that names none


def product_key_sql(product_id: str, sku: str, name: str) -> str:
    """The product of an order line: its id, else its sku, else `name-` + 16 hex digits of
    md5(name), else the one unnamed product (a quantity with nothing naming the product)."""
    return (
        f"coalesce({product_id}, {sku}, "
        f"case when {name} is not null then 'name-' || substr(md5({name}), 1, 16) end, "
        f"{lit(UNNAMED_PRODUCT_ID)})"
    )


def integer_sql(raw: str) -> str:
    """A whole number (optionally written `2.0`) -> INTEGER; null otherwise."""
    return (
        f"case when regexp_full_match({raw}, '[+-]?[0-9]+([.]0*)?') "
        f"then try_cast(try_cast({raw} as double) as integer) end"
    )


def timestamp_sql(raw: str, formats: list[str] | None = None) -> str:
    """A timestamp string -> TIMESTAMPTZ; naive values are read in the session time zone.

    Without `formats`: ISO 8601 with or without offset (`2026-04-05T21:06:21+04:00`,
    `...Z`), `YYYY-MM-DD HH:MM:SS`, date only, and Shopify's `2026-04-05 21:06:21 +0400`.
    With `formats` (strptime patterns) only those are tried, in order. The result may be
    `infinity` (DuckDB casts that word): `FieldSet.checks` rejects non-finite values.
    """
    if formats:
        tries = [f"try_strptime({raw}, {lit(f)})::TIMESTAMPTZ" for f in formats]
    else:
        tries = [
            f"case when regexp_matches({raw}, '^[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}') "
            f"then try_cast({raw} as TIMESTAMPTZ) end",
            f"try_strptime({raw}, '%Y-%m-%d %H:%M:%S %z')",
            f"try_strptime({raw}, '%Y-%m-%d %H:%M %z')",
        ]
    return "coalesce(" + ", ".join(tries) + ")" if len(tries) > 1 else tries[0]


FieldKind = Literal["key", "text", "timestamp", "money", "integer"]


@dataclass
class Field:
    """One source column, how it is typed, and when it is required/checked.

    `column` is the header name in the file (None when the file lacks it: the value is
    null). `applies` is an SQL condition (over the other raw fields) restricting the checks
    to some rows, e.g. Shopify's order-level columns only on an order's first row.
    `required` may be an SQL condition too: required only on the rows where it holds.
    """

    name: str
    column: str | None
    kind: FieldKind = "text"
    required: bool | str = False
    non_negative: bool = True
    applies: str | None = None
    null_values: tuple[str, ...] = ()  # values meaning "empty", e.g. WooCommerce's guest id 0


class FieldSet:
    """Builds the typed projection and the first-failing-check `reason` for a set of fields."""

    def __init__(
        self,
        fields: list[Field],
        col_ids: dict[str, str],
        timestamp_formats: list[str] | None = None,
        decimal_comma: bool = False,
    ):
        self.fields = fields
        self.col_ids = col_ids
        self.timestamp_formats = timestamp_formats
        self.decimal_comma = decimal_comma

    def raw(self, f: Field) -> str:
        if f.column is None:
            return "NULL::VARCHAR"
        c = ident(self.col_ids[f.column])
        empty = ", ".join(lit(v) for v in ("", *f.null_values))
        if f.kind == "text":  # identity/free text: keep as written, empty -> null
            return f"case when trim({c}) in ({empty}) then NULL else {c} end"
        return f"case when trim({c}) in ({empty}) then NULL else trim({c}) end"

    def raw_projection(self) -> str:
        return ",\n    ".join(f"{self.raw(f)} as {ident(f.name + '__raw')}" for f in self.fields)

    def typed_projection(self) -> str:
        out = []
        for f in self.fields:
            r = ident(f.name + "__raw")
            if f.kind == "timestamp":
                expr = timestamp_sql(r, self.timestamp_formats)
            elif f.kind == "money":
                expr = money_sql(r, self.decimal_comma)
            elif f.kind == "integer":
                expr = integer_sql(r)
            else:
                expr = r
            out.append(f"{expr} as {ident(f.name)}")
        return ",\n    ".join(out)

    def _label(self, f: Field) -> str:
        return f.column if f.column is not None else f.name

    def checks(self, extra: list[tuple[RejectReason, str, str]] = ()) -> str:
        """CASE over the typed relation: the first failing check gives the row's reason.

        Order: missing required values, unparseable timestamps, non-numeric values,
        negative values, then `extra` (code, condition, message SQL) checks.
        """
        whens: list[str] = []

        def add(code: RejectReason, f: Field, cond: str, msg: str) -> None:
            if f.applies:
                cond = f"({f.applies}) and ({cond})"
            whens.append(f"when {cond} then {lit(code.value + ': ')} || {msg}")

        def shown(f: Field) -> str:
            return f"{lit(self._label(f) + '=')} || '''' || {ident(f.name + '__raw')} || ''''"

        for f in self.fields:
            if f.required:
                cond = f"{ident(f.name + '__raw')} is null"
                if isinstance(f.required, str):
                    cond = f"({f.required}) and {cond}"
                add(RejectReason.MISSING_REQUIRED, f, cond, lit(f"{self._label(f)} is empty"))
        for kind, code in (
            ("timestamp", RejectReason.UNPARSEABLE_TIMESTAMP),
            ("money", RejectReason.NON_NUMERIC),
            ("integer", RejectReason.NON_NUMERIC),
        ):
            for f in self.fields:
                if f.kind == kind and f.column is not None:
                    cond = f"{ident(f.name + '__raw')} is not null and {ident(f.name)} is null"
                    if kind == "timestamp":
                        cond = (
                            f"{ident(f.name + '__raw')} is not null "
                            f"and not coalesce(isfinite({ident(f.name)}), false)"
                        )
                    add(code, f, cond, shown(f))
        for f in self.fields:
            if f.kind in ("money", "integer") and f.non_negative and f.column is not None:
                add(RejectReason.NEGATIVE_VALUE, f, f"{ident(f.name)} < 0", shown(f))
        for code, cond, msg in extra:
            whens.append(f"when {cond} then {lit(code.value + ': ')} || {msg}")
        if not whens:
            return "NULL::VARCHAR"
        return "case " + " ".join(whens) + " end"


# --------------------------------------------------------------------------- session


@dataclass
class SourceColumns:
    names: list[str]  # header names as written (deduplicated)
    col_ids: dict[str, str]  # header name -> internal column name in `src`
    input_rows: int
    malformed_rows: int

    def has(self, name: str | None) -> bool:
        return name is not None and name in self.col_ids


def _is_utf8(encoding: str) -> bool:
    """utf-8, UTF8, utf-8-sig (the header read strips a byte-order mark either way)."""
    return encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig")


def _unique_names(header: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for i, raw in enumerate(header):
        name = raw.strip() or f"column_{i + 1}"
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


class ImportSession:
    """A temporary DuckDB workspace for one import; use as a context manager."""

    def __init__(
        self,
        source_file: Path | str,
        raw_dir: Path | str,
        *,
        importer: str,
        owned_tables: tuple[str, ...],
        append: bool = False,
        timezone: str = "UTC",
        max_rejected_share: float | None = None,
    ):
        self.source_file = Path(source_file)
        self.max_rejected_share = max_rejected_share
        self.facts: dict[str, int] = {}
        self.raw_dir = Path(raw_dir)
        self.importer = importer
        self.owned_tables = owned_tables
        self.append = append
        self.timezone = timezone
        self.started = time.monotonic()
        self.notes: list[str] = []
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.con: duckdb.DuckDBPyConnection

    def __enter__(self) -> ImportSession:
        self._tmp = tempfile.TemporaryDirectory(prefix="rw-import-")
        # in-memory workspace; spills to the temporary directory beyond memory_limit
        self.con = duckdb.connect(":memory:")
        self.con.execute(f"SET temp_directory = {lit(str(Path(self._tmp.name) / 'spill'))}")
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute(f"SET TimeZone = {lit(self.timezone)}")
        self.con.execute("SET enable_progress_bar = false")
        # bounded memory; beyond it DuckDB spills to the temporary directory
        limit = os.environ.get("RW_IMPORT_MEMORY_LIMIT", _MEMORY_LIMIT)
        self.con.execute(f"SET memory_limit = {lit(limit)}")
        return self

    def __exit__(self, *exc) -> None:
        self.con.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def run(self, sql: str, label: str) -> None:
        """Execute one statement of the import, logging how long it took."""
        t0 = time.monotonic()
        self.con.execute(sql)
        logger.debug("%s: %s in %.2fs", self.source_file.name, label, time.monotonic() - t0)

    # ------------------------------------------------------------------ loading

    def load_csv(
        self,
        *,
        encoding: str = "utf-8",
        delimiter: str = ",",
        check_header: Callable[[list[str]], None] | None = None,
    ) -> SourceColumns:
        """Stream the CSV into table `src(source_row, c0, c1, ...)` (all VARCHAR).

        `check_header(names)` runs before any data is read; it raises `ImportFileError`
        when the file lacks columns the importer needs.
        """
        path = self.source_file
        if not path.is_file():
            raise ImportFileError(f"{path}: file not found or not a regular file")
        header = self._read_header(path, encoding, delimiter)
        names = _unique_names(header)
        if check_header is not None:
            check_header(names)
        internal = [f"c{i}" for i in range(len(names))]
        col_ids = dict(zip(names, internal, strict=True))
        cols_sql = ", ".join(f"{c} VARCHAR" for c in internal)
        self.con.execute(f"create table src (source_row BIGINT, {cols_sql})")
        self.con.execute(
            "create table malformed "
            f"(source_row BIGINT, _bad_shape VARCHAR, _raw_record VARCHAR, {cols_sql})"
        )
        bad: list[tuple[int | None, str, int, int]] = []

        def on_invalid(row) -> str:
            if row.text.strip() == "":
                return "skip"
            number = None if row.number is None else row.number - 1  # minus the header
            bad.append((number, row.text, row.expected_columns, row.actual_columns))
            return "skip"

        try:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(
                    use_threads=False,
                    block_size=_BLOCK_SIZE,
                    skip_rows=1,
                    column_names=internal,
                    encoding="utf8" if _is_utf8(encoding) else encoding,
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=delimiter,
                    newlines_in_values=True,
                    invalid_row_handler=on_invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in internal},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            good = 0
            next_row = 1
            bad_ptr = 0
            for batch in reader:
                n = batch.num_rows
                if n == 0:
                    continue
                known_bad = sorted(b[0] for b in bad if b[0] is not None)
                k = 0
                while bad_ptr + k < len(known_bad) and known_bad[bad_ptr + k] < next_row + n + k:
                    k += 1
                candidates = np.arange(next_row, next_row + n + k, dtype=np.int64)
                if k:
                    skip = np.asarray(known_bad[bad_ptr : bad_ptr + k], dtype=np.int64)
                    candidates = candidates[~np.isin(candidates, skip)]
                bad_ptr += k
                rows = candidates[:n]
                next_row = int(rows[-1]) + 1
                tbl = pa.Table.from_batches([batch]).add_column(
                    0, "source_row", pa.array(rows, pa.int64())
                )
                self.con.register("_batch", tbl)
                self.con.execute("insert into src select * from _batch")
                self.con.unregister("_batch")
                good += n
                if good % 1_000_000 < n:
                    logger.info("%s: read %s rows", path.name, f"{good:,}")
        except (pa.ArrowInvalid, pa.ArrowException, UnicodeDecodeError, OSError) as exc:
            hint = ""
            if "utf8" in str(exc).lower().replace("-", ""):
                hint = f"; the file is not {encoding}: pass its encoding (e.g. --encoding cp1252)"
            raise ImportFileError(f"{path}: cannot read as CSV ({exc}){hint}") from exc

        if bad:
            records = []
            for number, text, expected, actual in bad:
                try:
                    values = next(csv.reader([text], delimiter=delimiter), [])
                except csv.Error:
                    values = []
                values = (values + [None] * len(internal))[: len(internal)]
                records.append(
                    {
                        "source_row": number,
                        "_bad_shape": f"expected {expected} columns, found {actual}",
                        "_raw_record": text,
                        **dict(zip(internal, values, strict=True)),
                    }
                )
            self.con.register("_bad", pa.Table.from_pylist(records))
            self.con.execute("insert into malformed select * from _bad")
            self.con.unregister("_bad")
        logger.info("%s: %d rows read, %d malformed", path.name, good, len(bad))
        self.columns = SourceColumns(names, col_ids, good + len(bad), len(bad))
        return self.columns

    @staticmethod
    def _read_header(path: Path, encoding: str, delimiter: str) -> list[str]:
        enc = "utf-8-sig" if _is_utf8(encoding) else encoding
        try:
            with path.open(newline="", encoding=enc) as fh:
                header = next(csv.reader(fh, delimiter=delimiter), None)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"{path}: not {encoding} text ({exc}); pass the file's encoding "
                "(e.g. --encoding cp1252)"
            ) from exc
        except (csv.Error, OSError) as exc:
            raise ImportFileError(f"{path}: cannot read the CSV header ({exc})") from exc
        if not header or all(not h.strip() for h in header):
            raise ImportFileError(f"{path}: empty file or no header row")
        if any("\x00" in h for h in header):
            raise ImportFileError(f"{path}: not a text CSV file (NUL bytes in the header)")
        return header

    # ------------------------------------------------------------------ finishing

    def existing(self, table: str) -> Path | None:
        p = self.raw_dir / f"{table}.parquet"
        return p if p.is_file() else None

    def finish(self, outputs: dict[str, str | None]) -> ImportReport:
        """Write the contract tables and the quarantine; return the report.

        `outputs` maps each owned table to an SQL query producing its rows (None = no rows).
        Requires table `row_status(source_row, reason)` with one row per `src` row.
        """
        con = self.con
        (n_src,) = con.execute("select count(*) from src").fetchall()[0]
        (n_status, n_distinct) = con.execute(
            "select count(*), count(distinct source_row) from row_status"
        ).fetchall()[0]
        if not n_status == n_src == n_distinct:
            raise AssertionError(
                f"row_status covers {n_status} rows ({n_distinct} distinct), src has {n_src}"
            )
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        pending: list[tuple[Path, Path]] = []
        try:
            return self._finish(outputs, pending)
        except BaseException:
            for tmp, _ in pending:
                tmp.unlink(missing_ok=True)
            raise

    def _finish(
        self, outputs: dict[str, str | None], pending: list[tuple[Path, Path]]
    ) -> ImportReport:
        con = self.con
        rej_dir = self.raw_dir / REJECTED_DIR
        tables: dict[str, int] = {}
        totals: dict[str, int] = {}
        paths: dict[str, Path] = {}
        rej_path = rej_dir / f"{REJECT_TABLE}.parquet"
        (n_rejected_src,) = con.execute(
            "select count(*) from row_status where reason is not null"
        ).fetchall()[0]
        (n_malformed,) = con.execute("select count(*) from malformed").fetchall()[0]
        n_rejected = n_rejected_src + n_malformed
        (n_src,) = con.execute("select count(*) from src").fetchall()[0]
        n_loaded = n_src - n_rejected_src
        input_rows = self.columns.input_rows
        if n_loaded + n_rejected != input_rows:  # nothing may be dropped silently
            raise AssertionError(
                f"{self.source_file}: loaded {n_loaded} + rejected {n_rejected} "
                f"!= input rows {input_rows}"
            )
        by_reason = dict(
            con.execute(
                "select split_part(reason, ':', 1), count(*) from row_status "
                "where reason is not null group by 1"
            ).fetchall()
        )
        if n_malformed:
            by_reason[RejectReason.MALFORMED_ROW.value] = (
                by_reason.get(RejectReason.MALFORMED_ROW.value, 0) + n_malformed
            )
        self._check_rejected_share(n_rejected, input_rows, by_reason)
        for table in self.owned_tables:
            query = outputs.get(table)
            spec = TABLES[table]
            cols = ", ".join(ident(c) for c in spec.columns)
            con.execute(f"create or replace table _new_{table} as " + _select(spec, query))
            (n_new,) = con.execute(f"select count(*) from _new_{table}").fetchall()[0]
            source = f"_new_{table}"
            existing = self.existing(table) if self.append else None
            if existing is not None:
                source = self._merge_sql(table, existing)
            dest = self.raw_dir / f"{table}.parquet"
            tmp = dest.with_name(dest.name + ".tmp")
            pending.append((tmp, dest))
            order = ", ".join(ident(c) for c in (spec.primary_key or spec.columns[:1]))
            total = self._write(f"select {cols} from {source} order by {order}", spec.schema, tmp)
            tables[table], totals[table], paths[table] = n_new, total, dest
        self._count_facts()
        # quarantine
        rej_dir.mkdir(parents=True, exist_ok=True)
        old_rej = rej_path if (self.append and rej_path.is_file()) else None
        if n_rejected or old_rej is not None:
            q = self._rejected_sql()
            if old_rej is not None:
                q = f"select * from read_parquet({lit(str(old_rej))}) union all by name ({q})"
            tmp = rej_path.with_name(rej_path.name + ".tmp")
            pending.append((tmp, rej_path))
            self._write(q, None, tmp)
        for tmp, dest in pending:
            os.replace(tmp, dest)
        if not self.append:
            # stale quarantines of the tables this import replaced
            for table in self.owned_tables:
                stale = rej_dir / f"{table}.parquet"
                if stale.is_file() and not (table == REJECT_TABLE and n_rejected):
                    stale.unlink()
        self._ensure_other_tables()
        return ImportReport(
            source_file=self.source_file,
            importer=self.importer,
            mode="append" if self.append else "replace",
            input_rows=input_rows,
            loaded_rows=n_loaded,
            rejected_rows=n_rejected,
            rejected_by_reason=by_reason,
            tables=tables,
            table_totals=totals,
            output_paths=paths,
            rejected_path=rej_path if rej_path.is_file() else None,
            elapsed_seconds=time.monotonic() - self.started,
            notes=self.notes,
            facts=self.facts,
        )

    def _count_facts(self) -> None:
        """Figures about this import's orders the user should see (nothing is dropped for
        them): guests, orders with no identifier at all, zero-value and unpaid orders."""
        if "orders" not in self.owned_tables:
            return
        row = self.con.execute(
            """
            select count(*),
                count(*) filter (where customer_id is null),
                count(*) filter (where customer_id is null and email is null
                    and phone is null and anonymous_id is null),
                count(*) filter (where total = 0),
                count(*) filter (where status = 'pending')
            from _new_orders
            """
        ).fetchall()[0]
        names = (
            "orders",
            "guest_orders",
            "unidentified_orders",
            "zero_value_orders",
            "pending_orders",
        )
        self.facts.update(dict(zip(names, row, strict=True)))
        if "order_items" in self.owned_tables:
            (lines,) = self.con.execute("select count(*) from _new_order_items").fetchall()[0]
            self.facts["order_lines"] = lines
        if self.facts["unidentified_orders"]:
            self.notes.append(
                f"{self.facts['unidentified_orders']} order(s) carry no customer id, email, "
                "phone or device id: loaded as unidentified orders (one person each)"
            )
        if self.facts["zero_value_orders"]:
            self.notes.append(f"{self.facts['zero_value_orders']} order(s) have a total of 0")

    def _check_rejected_share(
        self, n_rejected: int, input_rows: int, by_reason: dict[str, int]
    ) -> None:
        """Refuse to write anything when too many rows were rejected (a wrong mapping or
        format option usually rejects most rows; better to stop than to load a fraction)."""
        limit = self.max_rejected_share
        # re-importing rows already in raw (--append) is expected, not a sign of a bad file
        n_rejected -= by_reason.get(RejectReason.ALREADY_IMPORTED.value, 0)
        if limit is None or not input_rows or n_rejected / input_rows <= limit:
            return
        examples = self.con.execute(
            "select source_row, reason from row_status where reason is not null "
            "order by source_row limit 5"
        ).fetchall()
        lines = [
            f"{self.source_file}: {n_rejected} of {input_rows} rows rejected "
            f"({n_rejected / input_rows:.1%}), more than the allowed {limit:.1%} "
            "(--max-rejected-share); nothing was written.",
            *(f"  {reason:<24} {n:>8}" for reason, n in sorted(by_reason.items())),
            *(f"  row {row}: {reason}" for row, reason in examples),
        ]
        raise TooManyRejectedError("\n".join(lines), by_reason)

    def _merge_sql(self, table: str, existing: Path) -> str:
        """Existing raw rows + this import's rows, deduplicated on the primary key."""
        spec = TABLES[table]
        cols = ", ".join(ident(c) for c in spec.columns)
        old = f"(select {cols} from read_parquet({lit(str(existing))}))"
        if not spec.primary_key:
            both = f"select * from {old} union all select * from _new_{table}"
            return f"(select distinct * from ({both}))"
        pk = ", ".join(ident(c) for c in spec.primary_key)
        both = f"(select *, 0 as _prio from _new_{table} union all select *, 1 from {old})"
        select_cols = cols
        if table == "customers":  # keep the earliest created_at and latest updated_at
            select_cols = ", ".join(
                "min(created_at) over (partition by customer_id) as created_at"
                if c == "created_at"
                else "max(updated_at) over (partition by customer_id) as updated_at"
                if c == "updated_at"
                else ident(c)
                for c in spec.columns
            )
        return (
            f"(select {cols} from (select {select_cols}, _prio from {both}) "
            f"qualify row_number() over (partition by {pk} order by _prio) = 1)"
        )

    def _rejected_sql(self) -> str:
        names = self.columns.names
        orig = ", ".join(f"s.{ident(self.columns.col_ids[n])} as {ident(n)}" for n in names)
        src_file = lit(str(self.source_file))
        return (
            f"select {orig}, {src_file} as source_file, s.source_row, r.reason, "
            "NULL::VARCHAR as _raw_record "
            "from src s join row_status r using (source_row) where r.reason is not null "
            f"union all select {orig}, {src_file}, s.source_row, "
            f"{lit(RejectReason.MALFORMED_ROW.value + ': ')} || s._bad_shape, s._raw_record "
            "from malformed s order by source_row"
        )

    def _write(self, query: str, schema: pa.Schema | None, dest: Path) -> int:
        """Stream a query into a Parquet file, cast to `schema` when given."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        reader = self.con.sql(query).to_arrow_reader(200_000)
        writer = None
        n = 0
        try:
            for batch in reader:
                tbl = pa.Table.from_batches([batch])
                if schema is not None:
                    tbl = tbl.cast(schema)
                if writer is None:
                    writer = pq.ParquetWriter(dest, tbl.schema)
                writer.write_table(tbl)
                n += tbl.num_rows
            if writer is None:
                empty = schema if schema is not None else reader.schema
                writer = pq.ParquetWriter(dest, empty)
                writer.write_table(empty.empty_table())
        finally:
            if writer is not None:
                writer.close()
        return n

    def _ensure_other_tables(self) -> None:
        """Tables this importer does not produce: create empty ones if absent (dbt sources
        read every contract table), keep existing ones untouched."""
        for name, spec in TABLES.items():
            if name in self.owned_tables:
                continue
            dest = self.raw_dir / f"{name}.parquet"
            if not dest.exists():
                pq.write_table(spec.schema.empty_table(), dest)
                logger.info("created empty %s", dest)
            elif not self.append:
                self.notes.append(
                    f"{name}.parquet was not produced by this import and was left as it was"
                )


def _select(spec, query: str | None) -> str:
    """Project a query onto the contract's columns (nulls for missing ones)."""
    if query is None:
        cols = ", ".join(
            f"NULL::{_duck_type(spec.schema.field(c).type)} as {ident(c)}" for c in spec.columns
        )
        return f"select {cols} where false"
    cols = ", ".join(
        f"cast({ident(c)} as {_duck_type(spec.schema.field(c).type)}) as {ident(c)}"
        for c in spec.columns
    )
    return f"select {cols} from ({query})"


def _duck_type(t: pa.DataType) -> str:
    if pa.types.is_string(t):
        return "VARCHAR"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision}, {t.scale})"
    if pa.types.is_int32(t):
        return "INTEGER"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    raise TypeError(f"no DuckDB type for {t}")
