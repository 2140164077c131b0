"""Sync YAML is validated on load; errors name the file and the field, never a value."""

from __future__ import annotations

import pytest

from reverse_etl.config import SyncConfigError, load_sync_file, load_syncs
from warehouse.settings import SYNCS_DIR as DEFAULT_SYNCS_DIR


def _write(tmp_path, text, name="s.yml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_repo_syncs_are_valid():
    syncs = load_syncs(DEFAULT_SYNCS_DIR)
    assert syncs, "the repository ships example syncs"
    assert {s.destination.type for s in syncs.values()} >= {
        "file",
        "webhook",
        "klaviyo",
        "hubspot",
        "salesmanago",
        "braze",
    }


def test_error_names_file_and_field(tmp_path):
    p = _write(
        tmp_path,
        """
name: bad
source: dim_customers
primary_key: person_id
mode: upsert
destination: {type: klaviyo, batch_size: 0}
fields: {email: email}
""",
    )
    with pytest.raises(SyncConfigError) as exc:
        load_sync_file(p)
    msg = str(exc.value)
    assert str(p) in msg and "destination.klaviyo.batch_size" in msg


def test_list_of_syncs_error_names_index(tmp_path):
    p = _write(
        tmp_path,
        """
syncs:
  - {name: ok, source: dim_customers, primary_key: person_id, destination: {type: file}}
  - {name: bad, source: dim_customers, primary_key: person_id, destination: {type: file},
     mode: teleport}
""",
    )
    with pytest.raises(SyncConfigError, match=r"syncs\[1\]\.mode"):
        load_sync_file(p)


def test_unknown_keys_rejected(tmp_path):
    p = _write(
        tmp_path, "name: x\nsource: t\nprimary_key: id\ndestination: {type: file}\ncolour: blue\n"
    )
    with pytest.raises(SyncConfigError, match="colour"):
        load_sync_file(p)


def test_list_mode_requires_consent(tmp_path):
    p = _write(
        tmp_path,
        """
name: vip
source: dim_customers
primary_key: person_id
mode: list
destination: {type: klaviyo, object: list, list_id: Abc}
fields: {email: email}
""",
    )
    with pytest.raises(SyncConfigError, match="consent"):
        load_sync_file(p)


def test_secret_values_are_not_echoed(tmp_path):
    p = _write(
        tmp_path,
        """
name: leak
source: dim_customers
primary_key: person_id
destination: {type: hubspot, token_env: "pat-na1-SECRET-VALUE-123"}
""",
    )
    with pytest.raises(SyncConfigError) as exc:
        load_sync_file(p)
    assert "token_env" in str(exc.value)
    assert "SECRET-VALUE" not in str(exc.value)


def test_duplicate_names_rejected(tmp_path):
    body = "name: same\nsource: t\nprimary_key: id\ndestination: {type: file}\n"
    _write(tmp_path, body, "a.yml")
    _write(tmp_path, body, "b.yml")
    with pytest.raises(SyncConfigError, match="duplicate"):
        load_syncs(tmp_path)


def test_unsupported_mode_for_destination(tmp_path):
    p = _write(
        tmp_path,
        "name: m\nsource: t\nprimary_key: id\nmode: mirror\n"
        "destination: {type: klaviyo}\nfields: {email: email}\n",
    )
    with pytest.raises(SyncConfigError, match="does not support mode"):
        load_sync_file(p)
