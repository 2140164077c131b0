"""The dbt exposures and the sync models follow the sync files (one place for each fact)."""

from __future__ import annotations

import re

from reverse_etl import exposures
from reverse_etl.config import load_syncs
from warehouse.settings import SYNCS_DIR as DEFAULT_SYNCS_DIR

SYNC_MODELS = exposures.REPO_ROOT / "dbt_project" / "models" / "marts" / "sync"


def test_exposures_file_is_generated_from_the_sync_files():
    assert exposures.EXPOSURES_PATH.read_text() == exposures.render(DEFAULT_SYNCS_DIR), (
        "the sync files changed: run `rw-sync exposures` and commit the result"
    )


def test_every_sync_reads_the_model_named_after_it():
    for sync in load_syncs(DEFAULT_SYNCS_DIR).values():
        assert sync.name.startswith(f"{sync.destination.type}_"), sync.name
        assert sync.source == exposures.expected_source(sync), sync.name
        assert (SYNC_MODELS / f"{sync.source}.sql").exists(), sync.source


def test_every_sync_model_is_read_by_a_sync():
    sources = {s.source for s in load_syncs(DEFAULT_SYNCS_DIR).values()}
    models = {p.stem for p in SYNC_MODELS.glob("sync_*.sql")}
    assert models == sources
    documented = set(
        re.findall(r"- name: (sync_\w+)", (SYNC_MODELS / "_sync__models.yml").read_text())
    )
    assert documented == models


def test_stale_exposures_are_detected(tmp_path):
    syncs = tmp_path / "syncs"
    syncs.mkdir()
    (syncs / "x.yml").write_text(
        "name: file_people\nsource: sync_file__people\nprimary_key: id\ndestination: {type: file}\n"
    )
    out = tmp_path / "exposures.yml"
    assert exposures.write(syncs, out) is True
    assert "ref('sync_file__people')" in out.read_text()
    assert exposures.write(syncs, out) is False
