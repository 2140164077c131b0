"""Local file outbox: one JSONL file per sync run (the default destination)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from reverse_etl.destinations.base import (
    DELETE,
    GDPR_DELETE,
    LIST_ADD,
    LIST_REMOVE,
    UPDATE,
    UPSERT,
    Destination,
    DestinationConfig,
    Row,
    RowResult,
    nest,
    register,
)


class FileConfig(DestinationConfig):
    type: Literal["file"]
    directory: str | None = None  # default: settings.outbox_dir
    object: str = "records"


@register
class FileOutbox(Destination):
    config = FileConfig
    max_batch = 5000
    ops = frozenset({UPSERT, UPDATE, DELETE, LIST_ADD, LIST_REMOVE, GDPR_DELETE})

    def __init__(self, sync: Any, ctx: Any) -> None:
        super().__init__(sync.destination.batch_size)
        self.sync = sync
        directory = Path(sync.destination.directory or ctx.outbox_dir)
        self.path = directory / sync.name / f"{ctx.run_id}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = None
        self.lines = 0

    def deliver(self, op: str, rows: list[Row]) -> list[RowResult]:
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        obj = self.sync.destination.object
        out = []
        for row in rows:
            record = {
                "event_id": row.event_id,
                "op": op,
                "object": obj,
                "key": row.pk,
                "data": nest(row.payload, self.sync.null_policy)
                if op in (UPSERT, UPDATE, LIST_ADD)
                else None,
            }
            out.append(json.dumps(record, default=str, separators=(",", ":")))
        self._fh.write("\n".join(out) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())  # durable before the engine confirms the rows
        self.lines += len(rows)
        return [RowResult(r.pk, True) for r in rows]

    def stats(self) -> dict[str, Any]:
        return {"file": str(self.path), "lines": self.lines}

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
