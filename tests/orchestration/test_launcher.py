"""The UI launcher: loopback only, instance config written once, telemetry off."""

from __future__ import annotations

import yaml

from orchestration.ui import dagster_command, ensure_instance, environment


def test_instance_config(tmp_path):
    config = ensure_instance(tmp_path / "home")
    settings = yaml.safe_load(config.read_text())
    assert settings["telemetry"]["enabled"] is False
    assert settings["concurrency"]["runs"]["max_concurrent_runs"] == 1
    config.write_text("telemetry:\n  enabled: false\n# edited by hand\n")
    ensure_instance(tmp_path / "home")
    assert "edited by hand" in config.read_text()  # never overwritten


def test_command_binds_loopback():
    command = dagster_command(3123)
    assert command[1] == "dev"
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "3123"


def test_environment(tmp_path):
    env = environment(tmp_path, base={"PATH": "/usr/bin"})
    assert env["DAGSTER_HOME"] == str(tmp_path)
    assert env["DAGSTER_DISABLE_TELEMETRY"] == "true"
    assert env["PATH"].endswith("/usr/bin") and env["PATH"] != "/usr/bin"
    # dagster dev's code server outlives a busy minute; an operator's own value wins
    assert int(env["DAGSTER_GRPC_PROXY_HEARTBEAT_TTL_SECONDS"]) >= 300
    mine = {"PATH": "/usr/bin", "DAGSTER_GRPC_PROXY_HEARTBEAT_TTL_SECONDS": "45"}
    assert environment(tmp_path, base=mine)["DAGSTER_GRPC_PROXY_HEARTBEAT_TTL_SECONDS"] == "45"
