"""Vendor fidelity: Klaviyo's per-endpoint rate limits come from its spec, bulk imports stay
under 5 MB, import errors are read in pages of 100."""

from __future__ import annotations

import json
import re

import duckdb

from reverse_etl.destinations.klaviyo import MAX_BODY_BYTES, Klaviyo
from reverse_etl.emulator.openapi import find_klaviyo_spec_dir

from .conftest import engine_for, make_customers, sync_config


def _spec_limits() -> dict[tuple[str, str], tuple[float, float]]:
    out = {}
    for path in find_klaviyo_spec_dir().glob("*.json"):
        doc = json.loads(path.read_text())
        for route, ops in doc.get("paths", {}).items():
            for method, op in ops.items():
                limit = op.get("x-klaviyo-ratelimit") if isinstance(op, dict) else None
                if limit:
                    burst = float(limit["burst"].removesuffix("/s"))
                    steady = float(limit["steady"].removesuffix("/m"))
                    out[(method.upper(), route)] = (burst, steady)
    return out


def test_klaviyo_endpoint_limits_are_the_specs():
    spec = _spec_limits()
    for method, pattern, windows in Klaviyo.endpoint_limits:
        (burst, one_s), (steady, one_min) = windows
        assert (one_s, one_min) == (1, 60)
        matches = [
            lim
            for (m, route), lim in spec.items()
            if m == method and re.match(pattern, re.sub(r"\{[^}]+\}", "X1", route))
        ]
        assert matches, (method, pattern)
        assert set(matches) == {(burst, steady)}, (method, pattern, matches)


def test_bulk_import_is_split_under_5_mb(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 400)
    con = duckdb.connect(str(db))
    con.execute("update dim_customers set first_name = repeat('x', 20000)")  # ~8 MB in all
    con.close()
    emulator.state.config.log_bodies = True
    r = engine_for(sync_config("klaviyo"), db, emulator.url, tmp_path).run()
    assert r.status == "success" and r.confirmed == 400
    posts = [
        q for q in emulator.state.requests
        if q["method"] == "POST" and q["path"] == "/api/profile-bulk-import-jobs"
    ]  # fmt: skip
    assert len(posts) >= 2 and all(len(q["body"].encode()) <= MAX_BODY_BYTES for q in posts)
    assert {q["status"] for q in posts} == {202}


def test_import_errors_are_read_in_pages_of_100(emulator, secrets_env, tmp_path):
    db = tmp_path / "w.duckdb"
    make_customers(db, 300, bad_emails=250)
    r = engine_for(sync_config("klaviyo"), db, emulator.url, tmp_path).run()
    assert r.status == "partial" and r.rejected == 250 and r.confirmed == 50
    pages = [q for q in emulator.state.requests if q["path"].endswith("/import-errors")]
    assert len(pages) == 3  # 250 errors, 100 per page
    assert not emulator.state.snapshot()["spec_errors"]
