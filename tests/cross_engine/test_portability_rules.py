"""Fast static checks that keep the dbt project portable between full engine runs.

The engine builds (test_marts_equal_across_engines.py) are the proof; these name the
file and line of the usual mistakes in seconds, before a slow Spark build finds them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"

# DuckDB-only SQL that has a portable macro in dbt_project/macros/ (or dbt's own)
NOT_PORTABLE = {
    r"\bepoch\s*\(": "epoch_seconds() / epoch_day()",
    r"::": "cast(... as ...)",
    r"\brange\s*\(": "integer_series()",
    r"\bunnest\s*\(": "date_values() / integer_series()",
    r"\btimezone\s*\(": "utc_date() / utc_midnight()",
    r"\bstruct_pack\s*\(": "separate columns",
    r"\blist_\w+\s*\(": "sorted_string_agg() or a dispatch macro",
    r"\bqualify\b": "a row_number() CTE and a where",
    r"\b(arg_max|arg_min)\s*\(": "arg_max() / arg_min() macros",
    r"\bmedian\s*\(": "median() macro",
    r"\btry_cast\s*\(": "dbt.safe_cast()",
    r"\bas\s+double\s*\)": "type_double()",
    r"\bas\s+varchar\s*\)": "dbt.type_string()",
    r"\bdate_diff\s*\(": "dbt.datediff()",
    r"\binterval\s+\d+\s+days?\b": "dbt.dateadd() / add_days()",
}
# engine-specific SQL belongs in the engines' own dispatch forms: left out of the scan
ENGINE_FORMS = re.compile(
    r"\{%-?\s*macro\s+(duckdb|postgres|spark)__.*?\{%-?\s*endmacro\s*-?%\}", flags=re.S
)


def sql_without_jinja_and_comments(text: str) -> str:
    text = ENGINE_FORMS.sub("", text)
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", "''", text, flags=re.S)
    text = re.sub(r"\{%.*?%\}", "", text, flags=re.S)
    text = re.sub(r"'(?:[^']|'')*'", "''", text)  # string literals
    return re.sub(r"--[^\n]*", "", text)


def sql_files() -> list[Path]:
    return sorted(
        p
        for folder in ("models", "snapshots", "tests", "macros")
        for p in (DBT_PROJECT / folder).rglob("*.sql")
    )


@pytest.mark.parametrize("path", sql_files(), ids=lambda p: str(p.relative_to(DBT_PROJECT)))
def test_models_use_portable_sql(path: Path) -> None:
    text = sql_without_jinja_and_comments(path.read_text())
    problems = [
        f"{path.relative_to(DBT_PROJECT)}:{text[: m.start()].count(chr(10)) + 1}: "
        f"{m.group(0)!r} is DuckDB-only; use {fix}"
        for pattern, fix in NOT_PORTABLE.items()
        for m in re.finditer(pattern, text, flags=re.I)
    ]
    assert not problems, "\n".join(problems)


def unit_tests() -> list[tuple[str, str]]:
    found = []
    for path in sorted((DBT_PROJECT / "models").rglob("*.yml")):
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", []) or []:
            found.append((str(path.relative_to(DBT_PROJECT)), test["name"]))
    return found


def test_unit_test_names_fit_postgres_relation_names() -> None:
    # dbt-postgres names a unit test's temporary relation after the test: at most 63
    # characters, or the test cannot run there
    too_long = [f"{path}: {name} ({len(name)})" for path, name in unit_tests() if len(name) > 63]
    assert unit_tests(), "no unit tests found: the check would pass vacuously"
    assert not too_long, "\n".join(too_long)
