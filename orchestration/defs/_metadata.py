"""Helpers that turn files and frames into metadata the Dagster UI renders."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import dagster as dg
import pandas as pd

_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+\.png)\)")


def png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def inline_images(markdown: str, directory: Path) -> str:
    """Replace `![alt](file.png)` links relative to `directory` by inline data URIs, so the
    UI shows the charts (it cannot reach files next to the markdown)."""

    def repl(match: re.Match) -> str:
        alt, name = match.groups()
        path = directory / name
        if name.startswith(("http:", "https:", "data:")) or not path.exists():
            return match.group(0)
        return f"![{alt}]({png_data_uri(path)})"

    return _IMAGE.sub(repl, markdown)


def markdown_file(path: Path) -> dg.MetadataValue:
    return dg.MetadataValue.md(inline_images(Path(path).read_text(), Path(path).parent))


def markdown_table(
    rows: list[dict] | pd.DataFrame, columns: list[str] | None = None, empty: str = "_none_"
) -> str:
    """Rows (dicts, or a frame's rows) as a markdown table of `columns` (default: all of the
    first row's); `empty` when there are none (an empty frame may not even have the columns)."""
    if isinstance(rows, pd.DataFrame):
        rows = rows.to_dict("records")
    if not rows:
        return empty
    columns = columns or list(rows[0])

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)
