"""The Dagster UI in a real browser: `dagster dev` (through orchestration.ui) on a free
loopback port with a temporary DAGSTER_HOME, driven by Debian's headless Chromium."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from warehouse.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
LOCATION = "retention_warehouse"
# Every browser wait is on a condition (an element or text present); this ceiling only
# bounds a broken UI. A fresh clone under load renders its first pages slowly.
UI_TIMEOUT_MS = 120_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, timeout_s: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dagster dev exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} not up after {timeout_s}s")


@pytest.fixture
def ui(tmp_path: Path):
    """`python -m orchestration.ui` in its own process group; stopped with SIGINT."""
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        # the run launched from the browser writes here, not into the shared test platform
        "RW_RAW_DIR": str(tmp_path / "raw"),
        "RW_TRUTH_DIR": str(tmp_path / "truth"),
        "RW_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
    }
    log = (tmp_path / "dagster.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestration.ui", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/server_info", 240, process)
        yield url
    finally:
        process.send_signal(signal.SIGINT)  # the launcher restores SIGINT for dagster dev
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "dagster_dev.log").write_text((tmp_path / "dagster.log").read_text())


FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def _runs(ui: str) -> list[dict]:
    """Runs as the webserver's GraphQL API reports them (newest first)."""
    query = "{ runsOrError { ... on Runs { results { runId status } } } }"
    request = urllib.request.Request(
        f"{ui}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]["runsOrError"]["results"]


def _asset_groups(ui: str) -> dict[str, set[str]]:
    """Asset names per group, as the webserver's GraphQL API reports them."""
    query = "{ assetNodes { assetKey { path } groupName } }"
    request = urllib.request.Request(
        f"{ui}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        nodes = json.load(response)["data"]["assetNodes"]
    groups: dict[str, set[str]] = {}
    for node in nodes:
        groups.setdefault(node["groupName"], set()).add(node["assetKey"]["path"][-1])
    return groups


def _wait_for_assets(ui: str, expected: dict[str, list[str]], timeout_s: float) -> dict:
    """The asset groups once the code location serves every expected asset."""
    deadline = time.monotonic() + timeout_s
    groups: dict[str, set[str]] = {}
    while time.monotonic() < deadline:
        groups = _asset_groups(ui)
        if all(set(names) <= groups.get(g, set()) for g, names in expected.items()):
            break
        time.sleep(2)
    return groups


def _wait_for_new_run(ui: str, known: set[str], timeout_s: float) -> str:
    """The id of the first run started after `known` was listed (the daemon's sensors may
    start others later: the test follows the one it launched)."""
    deadline = time.monotonic() + timeout_s
    runs: list[dict] = []
    while time.monotonic() < deadline:
        runs = [r for r in _runs(ui) if r["runId"] not in known]
        if runs:
            return runs[-1]["runId"]  # oldest new run
        time.sleep(2)
    raise TimeoutError(f"no new run after {timeout_s}s")


def _wait_until_finished(ui: str, run_id: str, timeout_s: float) -> str:
    """The run's final status."""
    deadline = time.monotonic() + timeout_s
    status = None
    while time.monotonic() < deadline:
        status = next((r["status"] for r in _runs(ui) if r["runId"] == run_id), None)
        if status in FINISHED:
            return status
        time.sleep(2)
    raise TimeoutError(f"run {run_id} not finished after {timeout_s}s (status {status})")


def _dismiss_popups(page) -> None:
    """Dismiss Dagster's community dialog whenever it shows up (it may come late on a busy
    machine): Playwright runs the handler before any action it would block."""
    skip = page.get_by_role("button", name="Skip")
    page.add_locator_handler(skip, lambda button: button.click())


@pytest.fixture
def expect():
    """Playwright's `expect`, waiting up to UI_TIMEOUT_MS (its own default is 5 s, and
    `page.set_default_timeout` does not reach it)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    yield expect
    expect.set_options(timeout=None)  # back to Playwright's default for other tests


def test_asset_graph_and_materialization(ui: str, expect):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(UI_TIMEOUT_MS)  # actions (click, goto) wait as long
        _dismiss_popups(page)
        try:
            # The code location loads (the dbt manifest is prepared by dagster dev) with its
            # assets in their groups, as the webserver serves them to the UI (a large
            # group's lineage graph is drawn zoomed out, without labels).
            expected = {
                "ml": ["customer_scores", "churn_model", "ml_training_set"],
                "activation": ["test_file_profiles"],
                "marts": ["dim_customers"],
                "raw": ["orders", "customers", "events"],
            }
            groups = _wait_for_assets(ui, expected, 240)
            for group, names in expected.items():
                assert set(names) <= groups.get(group, set()), (group, groups.get(group))
                page.goto(f"{ui}/locations/{LOCATION}/asset-groups/{group}/lineage")
                expect(page.get_by_text(group, exact=True).first).to_be_visible()
                page.screenshot(path=str(ARTIFACTS / f"ui_asset_graph_{group}.png"))
            # each raw asset's own page names it (the group's lineage graph draws only the
            # nodes that fit the viewport, and the raw group has grown past it)
            for name in expected["raw"]:
                page.goto(f"{ui}/assets/raw/{name}")
                expect(page.get_by_text(name, exact=True).first).to_be_visible()
            page.goto(f"{ui}/locations/{LOCATION}/asset-groups/raw/lineage")
            expect(page.get_by_text("raw", exact=True).first).to_be_visible()

            # Launch a materialization of the raw group (the sample-shop generator).
            known = {r["runId"] for r in _runs(ui)}
            page.get_by_role("button", name="Materialize all").click()
            run_id = _wait_for_new_run(ui, known, 180)
            page.goto(f"{ui}/runs/{run_id}")
            status = _wait_until_finished(ui, run_id, 300)
            assert status == "SUCCESS", "see test-artifacts/dagster_dev.log"
            page.reload()
            expect(page.get_by_text("RUN_SUCCESS").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "ui_run.png"))

            page.goto(f"{ui}/assets/raw/orders")
            expect(page.get_by_text("Latest materialization").first).to_be_visible()
            # The heading shows before the event loads (then it reads "None"): wait for the
            # latest materialization to name the run that made it.
            expect(page.locator(f'a[href*="/runs/{run_id}"]').first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "ui_raw_orders.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "ui_failure.png"))  # what the browser saw
            raise
        finally:
            browser.close()
