"""Screenshots of the Dagster UI for the README, taken from `dagster dev` with headless Chromium.

    bin/screenshots            # after bin/demo --no-ui (run first if no dataset exists yet)

Starts the stats server sandbox and `dagster dev -w workspace.yaml` (the repo's DAGSTER_HOME, so
the demo's runs are there), launches a 30-day replay_mining backfill through the UI's GraphQL
API, and once its run has published five days saves docs/images/running-backfill.png (each day
shows as done when it is published), then replay-dataset-partitions.png (after its metadata panel
has loaded: the day's own row count, path, preview and skips) and global-lineage.png.
Playwright drives Debian's `chromium` (installed with apt-get when missing and root;
Playwright's own browser download is never used), brought in for this script alone by `uv run
--with playwright` (bin/screenshots), not a dependency of the project.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.graphql import DagsterGraphQL

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "docs" / "images"
PORT = int(os.environ.get("SCREENSHOT_PORT", "3123"))
STATS_PORT = 8701
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing Debian's chromium (apt-get)...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True)
        return shutil.which("chromium") or sys.exit("chromium did not install")
    sys.exit("needs chromium: `sudo apt-get install chromium` (Debian/Ubuntu), then run again")


def screenshot(
    page, url: str, out: Path, keys: str | None = None, showing: str | None = None
) -> None:
    """Open `url`, wait for the UI to settle (and for the text `showing`, when given: a panel
    that loads after the page), optionally press a shortcut, save a PNG."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_load_state("networkidle", timeout=60_000)
    if showing:
        page.get_by_text(showing).first.wait_for(timeout=60_000)
    page.wait_for_timeout(3000)
    if keys:  # a shortcut whose effect the UI keeps (in local storage), then a fresh layout
        page.mouse.click(800, 500)  # focus the graph
        page.keyboard.press(keys)
        page.wait_for_timeout(2000)
        page.reload(wait_until="domcontentloaded")
        page.wait_for_load_state("networkidle", timeout=60_000)
        page.wait_for_timeout(3000)
    page.screenshot(path=str(out))
    print(f"   {out.relative_to(REPO)}", flush=True)


def wait_for_workspace(api: DagsterGraphQL, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("dagster dev exited; see data/logs/screenshots-dagster.log")
        try:
            if all(e["loadStatus"] == "LOADED" for e in api.locations()):
                return
        except Exception:
            pass
        time.sleep(1)
    sys.exit("the workspace did not load in 300 s; see data/logs/screenshots-dagster.log")


PUBLISHED_DAYS = """
query ($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode { assetMaterializations { partition runId } }
  }
}
"""


def wait_for_published_days(api: DagsterGraphQL, backfill_id: str, days: int) -> None:
    """Until the backfill's run has published `days` days of the dataset (each day is recorded
    when it is published, so the running backfill's page shows progress), or 10 minutes."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        runs = {r["runId"] for r in api.backfill(backfill_id)["runs"]}
        node = api.query(PUBLISHED_DAYS, {"key": {"path": ["replay_mining", "replay_dataset"]}})
        events = node["assetNodeOrError"]["assetMaterializations"]
        if len({e["partition"] for e in events if e["runId"] in runs}) >= days:
            return
        time.sleep(2)
    sys.exit(f"backfill {backfill_id} published fewer than {days} days in 10 minutes")


def main() -> None:
    browser = chromium()
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    if not (REPO / f"data/lake/datasets/replays/replays_{yesterday:%Y%m%d}.parquet").exists():
        print("== no demo data yet: running bin/demo --no-ui first", flush=True)
        subprocess.run([str(REPO / "bin/demo"), "--no-ui"], check=True)
    IMAGES.mkdir(parents=True, exist_ok=True)
    logs = REPO / "data" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "STATS_API_URL": f"http://127.0.0.1:{STATS_PORT}"}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "sandboxes.stats_server", "--port", str(STATS_PORT)],
            stdout=(logs / "screenshots-stats.log").open("wb"),
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        ),
        subprocess.Popen(
            ["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(PORT)],
            cwd=REPO,
            stdout=(logs / "screenshots-dagster.log").open("wb"),
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        ),
    ]
    try:
        api = DagsterGraphQL(f"http://127.0.0.1:{PORT}")
        print(f"== dagster dev on {api.url}: waiting for every code location", flush=True)
        wait_for_workspace(api, children[1])
        days = [(yesterday - dt.timedelta(days=d)).isoformat() for d in range(30, 0, -1)]
        stages = ["replay_index", "raw_replays", "parsed_replays", "replay_dataset"]
        backfill_id = api.launch_asset_backfill(
            [["replay_mining", stage] for stage in stages], days
        )
        print(f"== backfill {backfill_id} of {days[0]}...{days[-1]} launched; screenshots:")
        api.query("mutation { setNuxSeen }")  # no "join the community" dialog over the pictures
        wait_for_published_days(api, backfill_id, days=5)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            chrome = playwright.chromium.launch(executable_path=browser, args=CHROMIUM_FLAGS)
            page = chrome.new_page(viewport={"width": 1600, "height": 1100})
            screenshot(page, f"{api.url}/runs/b/{backfill_id}", IMAGES / "running-backfill.png")
            screenshot(
                page,
                f"{api.url}/assets/replay_mining/replay_dataset?view=partitions&partition={yesterday}",
                IMAGES / "replay-dataset-partitions.png",
                showing="dagster/row_count",
            )
            # Alt+E: the lineage's "Expand all groups"; tall, so every pipeline's graph fits
            page.set_viewport_size({"width": 1600, "height": 2000})
            screenshot(page, f"{api.url}/asset-groups", IMAGES / "global-lineage.png", "Alt+e")
            chrome.close()
        api.wait_for_backfill(backfill_id, timeout=900)
    finally:
        for child in children:
            os.killpg(child.pid, signal.SIGINT)
        for child in children:
            try:
                child.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
