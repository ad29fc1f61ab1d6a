"""replay_sync benchmark: our sync engine beside rclone, each against its own fresh moto S3 server
over HTTP (the same server software and version).

    uv run python -m benchmarks.replay_sync_bench            # 5,000 small files, a 1 GiB file
    uv run python -m benchmarks.replay_sync_bench --quick    # 500 files, a 64 MiB file
    uv run python -m benchmarks.replay_sync_bench --pairs 4  # and 4 more first-upload pairs

Figures (the issue's targets): first upload of N small files (no slower than rclone), re-sync
with nothing changed (< 2 s, zero uploads), peak memory of a process uploading one large file
(< 200 MiB). rclone runs as the reference startup script does (8 transfers, 16 checkers), with
`--s3-no-head` and without AWS_CA_BUNDLE (see reference/replay_sync.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from resources.object_store import SmallObjectPut, make_s3_client
from resources.replay_sync.engine import BucketTree, LocalTree, sync_up

KEY_ID, SECRET, REGION = "bench-key-id", "bench-secret-key", "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(port: int) -> subprocess.Popen:
    """moto's S3 server in its own process, so neither client shares a GIL with it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto server did not start")


def client(endpoint: str):
    return make_s3_client(endpoint, REGION, KEY_ID, SECRET)


def make_small_files(root: Path, count: int, seed: int = 5) -> int:
    rng = random.Random(seed)
    total = 0
    for i in range(count):
        size = rng.randint(1024, 16 * 1024)
        path = root / f"sub{i % 20:02d}" / f"replay_{i:05d}.slp"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
        total += size
    return total


def make_large_file(path: Path, size: int) -> None:
    chunk = os.urandom(8 << 20)
    with path.open("wb") as fh:
        for written in range(0, size, len(chunk)):
            fh.write(chunk[: min(len(chunk), size - written)])


def rclone_env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env.update(
        RCLONE_CONFIG_BENCH_TYPE="s3",
        RCLONE_CONFIG_BENCH_PROVIDER="Other",
        RCLONE_CONFIG_BENCH_ENDPOINT=endpoint,
        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=KEY_ID,
        RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=SECRET,
        RCLONE_CONFIG_BENCH_REGION=REGION,
        RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE="true",
    )
    return env


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB polled every 20 ms, output) of a command."""
    # Output goes to a file, not a pipe: rclone -v writes a line per file and would block on a
    # full pipe that nobody reads until it exits.
    with tempfile.TemporaryFile() as log:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        peak = 0
        watcher = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                peak = max(peak, watcher.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.02)
        seconds = time.monotonic() - started
        log.seek(0)
        output = log.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {output[-2000:]}")
    return seconds, peak / 2**20, output


def rclone(endpoint: str, source: str, target: str, *extra: str) -> tuple[float, float, str]:
    cmd = ["rclone", "sync", source, target, "--transfers", "8", "--checkers", "16"]
    cmd += ["--s3-no-head", "--stats", "0", "-v", *extra]
    return run_measured(cmd, rclone_env(endpoint))


def rclone_transfers(output: str) -> int:
    return sum(1 for line in output.splitlines() if ": Copied (" in line)


def ours(endpoint: str, bucket: str, prefix: str, folder: Path, workers: int):
    # As ReplayStoreResource.tree() builds it (without importing Dagster into the measurement).
    pool = max(32, workers * 2)
    s3 = make_s3_client(endpoint, REGION, KEY_ID, SECRET, max_pool_connections=pool, bulk=True)
    small_put = SmallObjectPut.for_endpoint(endpoint, REGION, KEY_ID, SECRET, pool)
    tree = BucketTree(s3, bucket, prefix, small_put=small_put)
    return sync_up(LocalTree(folder), tree, workers=workers, log=lambda _m: None)


def upload_one_folder(args) -> None:
    """Child process: sync a folder (one large file) and report its own peak RSS."""
    report = ours(args.endpoint, args.bucket, args.prefix, Path(args.folder), args.workers)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"files": report.transferred_files, "seconds": report.seconds, "peak_mib": peak_mib}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 files and a 64 MiB file")
    parser.add_argument("--files", type=int, default=None)
    parser.add_argument("--large-mib", type=int, default=None)
    parser.add_argument("--workers", type=int, default=8, help="as rclone --transfers 8")
    parser.add_argument(
        "--pairs",
        type=int,
        default=0,
        help="extra first-upload pairs first, alternating who goes first, each on fresh servers",
    )
    parser.add_argument("--child-upload", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--endpoint", "--bucket", "--prefix", "--folder"):  # the child's arguments
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_upload:
        upload_one_folder(args)
        return
    files = args.files or (500 if args.quick else 5000)
    large = (args.large_mib or (64 if args.quick else 1024)) << 20
    if not shutil.which("rclone"):
        sys.exit("rclone is missing: apt-get update && apt-get install -y rclone")

    # One fresh moto server per client: moto's PUTs slow down as it holds more objects, so a
    # shared server would favour whoever uploads first.
    servers = {}
    for side in ("ours", "rclone"):
        port = free_port()
        servers[side] = (f"http://127.0.0.1:{port}", start_moto(port))
    endpoint, r_endpoint = servers["ours"][0], servers["rclone"][0]
    work = Path(tempfile.mkdtemp(prefix="replay-sync-bench-"))
    rows = []
    try:
        client(endpoint).create_bucket(Bucket="ours")
        client(r_endpoint).create_bucket(Bucket="rclone")
        small = work / "small"
        total = make_small_files(small, files)
        print(
            f"{files} files, {total / 1e6:.1f} MB; moto at {endpoint} and {r_endpoint}", flush=True
        )

        if args.pairs:
            first_upload_pairs(small, args.pairs, args.workers)
        moto_cpu = psutil.Process(servers["ours"][1].pid)
        r_moto_cpu = psutil.Process(servers["rclone"][1].pid)
        with cpu_seconds() as f_cpu, cpu_seconds(moto_cpu) as f_moto:
            first = ours(endpoint, "ours", "mewtwo", small, args.workers)
        with cpu_seconds(children=True) as rf_cpu, cpu_seconds(r_moto_cpu) as rf_moto:
            r_first, _, out = rclone(r_endpoint, str(small), "bench:rclone/mewtwo")
        assert first.transferred_files == files and rclone_transfers(out) == files
        rows.append(("first upload, s", first.seconds, r_first, "ours <= rclone"))
        rows.append(("  first upload CPU s: client", f_cpu[0], rf_cpu[0], ""))
        rows.append(("  first upload CPU s: S3 server", f_moto[0], rf_moto[0], ""))

        with cpu_seconds() as ours_cpu, cpu_seconds(moto_cpu) as ours_moto:
            again = ours(endpoint, "ours", "mewtwo", small, args.workers)
        with cpu_seconds(children=True) as r_cpu, cpu_seconds(r_moto_cpu) as r_moto:
            r_again, _, out = rclone(r_endpoint, str(small), "bench:rclone/mewtwo")
        r_fast, _, out_fast = rclone(
            r_endpoint, str(small), "bench:rclone/mewtwo", "--checksum", "--fast-list"
        )
        rows.append(("re-sync nothing changed, s", again.seconds, r_again, "< 2 s"))
        rows.append(("  rclone --checksum --fast-list, s", None, r_fast, ""))
        rows.append(("  re-sync CPU s: client", ours_cpu[0], r_cpu[0], ""))
        rows.append(("  re-sync CPU s: S3 server", ours_moto[0], r_moto[0], ""))
        rows.append(
            (
                "re-sync uploads, files",
                again.transferred_files,
                rclone_transfers(out) + rclone_transfers(out_fast),
                "0",
            )
        )
        # Cross-check: rclone, comparing by the mtime metadata we wrote, finds nothing to copy.
        _, _, out = rclone(endpoint, str(small), "bench:ours/mewtwo")
        rows.append(("rclone sync over our upload, files copied", None, rclone_transfers(out), "0"))

        big = work / "big"
        big.mkdir()
        make_large_file(big / "checkpoint.bin", large)
        child = [sys.executable, "-m", "benchmarks.replay_sync_bench", "--child-upload"]
        child += ["--endpoint", endpoint, "--bucket", "ours", "--prefix", "big"]
        child += ["--folder", str(big), "--workers", str(args.workers)]
        seconds, polled, out = run_measured(child)
        result = json.loads(out.strip().splitlines()[-1])
        assert result["files"] == 1
        r_seconds, r_peak, _ = rclone(r_endpoint, str(big), "bench:rclone/big")
        size = f"{large >> 20} MiB"
        rows.append((f"{size} upload, peak RSS MiB", result["peak_mib"], r_peak, "< 200 MiB"))
        rows.append((f"{size} upload, s (sync itself)", result["seconds"], None, ""))
        rows.append((f"{size} upload, s (whole process)", seconds, r_seconds, ""))
    finally:
        for _, moto in servers.values():
            moto.terminate()
            moto.wait(10)
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nload average (1, 5, 15 min) at the end: {os.getloadavg()} on {os.cpu_count()} CPUs")
    print(f"\n| figure | ours | rclone {rclone_version()} | target |\n|---|---|---|---|")
    for name, value, baseline, target in rows:
        print(f"| {name} | {_fmt(value)} | {_fmt(baseline)} | {target} |")


def first_upload_pairs(folder: Path, pairs: int, workers: int) -> None:
    """First uploads of `folder`, ours and rclone's, each on a fresh moto server, alternating
    who goes first (the machine's speed drifts); prints each pair and the median ratio."""

    def upload(side: str) -> float:
        port = free_port()
        endpoint, moto = f"http://127.0.0.1:{port}", start_moto(port)
        try:
            client(endpoint).create_bucket(Bucket=side)
            if side == "ours":
                return ours(endpoint, side, "mewtwo", folder, workers).seconds
            return rclone(endpoint, str(folder), f"bench:{side}/mewtwo")[0]
        finally:
            moto.terminate()
            moto.wait(10)

    ratios = []
    for i in range(pairs):
        order = ("ours", "rclone") if i % 2 == 0 else ("rclone", "ours")
        seconds = {side: upload(side) for side in order}
        ratios.append(seconds["ours"] / seconds["rclone"])
        print(
            f"  pair {i + 1}: ours {seconds['ours']:.2f} s, rclone {seconds['rclone']:.2f} s "
            f"({' first, '.join(order)} second)",
            flush=True,
        )
    print(f"  first upload ours / rclone, median of {pairs} pairs: {statistics.median(ratios):.2f}")


@contextlib.contextmanager
def cpu_seconds(process: psutil.Process | None = None, children: bool = False):
    """Yields a one-item list that holds the CPU seconds (user + system) spent in the block by
    this process (with its threads), its waited-for children, or another process."""

    def now() -> float:
        if process is not None:
            return sum(process.cpu_times()[:2])
        usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    box = [0.0]
    start = now()
    yield box
    box[0] = now() - start


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def rclone_version() -> str:
    out = subprocess.run(["rclone", "version"], capture_output=True, text=True).stdout
    return out.split()[1] if out else "?"


if __name__ == "__main__":
    main()
