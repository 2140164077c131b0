"""Secrets come from the environment and never reach logs, run records or exceptions."""

from __future__ import annotations

import logging

import duckdb
import httpx

from reverse_etl.config import SyncConfigError
from reverse_etl.destinations.base import secret_from_env

from .conftest import engine_for, make_customers, sync_config

SECRET = "pk_live_TOPSECRET_0123456789"


def _dump_db(db) -> str:
    con = duckdb.connect(str(db))
    out = []
    for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'reverse_etl'"
    ).fetchall():
        out.append(str(con.execute(f"select * from reverse_etl.{t}").fetchall()))
    con.close()
    return "\n".join(out)


def test_secret_never_leaks(emulator, monkeypatch, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("KLAVIYO_API_KEY", SECRET)  # the emulator expects another key: 401
    db = tmp_path / "w.duckdb"
    make_customers(db, 10)
    sync = sync_config("klaviyo")
    eng = engine_for(sync, db, emulator.url, tmp_path)
    r = eng.run()
    assert r.status == "failed" and "401" in r.error
    text = "\n".join(
        [caplog.text, _dump_db(db), str(r), repr(eng.sync), r.error or "", capsys.readouterr().out]
    )
    assert SECRET not in text


def test_secret_echoed_by_an_api_is_scrubbed(monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", SECRET)

    def echo(request: httpx.Request) -> httpx.Response:  # a server that echoes the auth header
        return httpx.Response(400, text=f"bad token {request.headers['Authorization']}")

    db = tmp_path / "w.duckdb"
    make_customers(db, 4)
    sync = sync_config("hubspot")
    eng = engine_for(sync, db, "http://unused", tmp_path)
    eng.context.transport = httpx.MockTransport(echo)
    r = eng.run()
    assert r.rejected == 4
    dumped = _dump_db(db)
    assert "***" in dumped and SECRET not in dumped and SECRET not in caplog.text


def test_missing_secret_names_the_variable_only(monkeypatch):
    monkeypatch.delenv("NOPE_KEY", raising=False)
    try:
        secret_from_env("NOPE_KEY")
    except SyncConfigError as exc:
        assert "NOPE_KEY" in str(exc)
    monkeypatch.setenv("NOPE_KEY", SECRET)
    s = secret_from_env("NOPE_KEY")
    assert SECRET not in repr(s) and SECRET not in str(s)
