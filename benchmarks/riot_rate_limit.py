"""Benchmark: two processes share one Riot dev-key quota through the PostgreSQL limiter.

Two sandboxes enforce the development-key limits (20 / 1 s and 100 / 120 s per routing host).
For `--duration` seconds, two worker processes hammer sandbox A through the shared PostgreSQL
limiter, while (as the baseline, in the same run) two more hammer sandbox B each with its own
in-process limiter, as the replaced backend did (a new limiter per job run). Printed: each
process's requests and 429s, the total accepted by the server, and the theoretical quota (the most
a server with back-to-back 120 s windows can accept in that time).

    uv run python -m benchmarks.riot_rate_limit            # 10 minutes
    uv run python -m benchmarks.riot_rate_limit --quick    # 130 s
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing as mp
import random
import time
import uuid

import psycopg

from resources.env import postgres_from_env
from resources.riot.client import RateBudgetExhausted, RiotClient
from resources.riot.rate_limit import DEV_APP_LIMITS, InMemoryRateLimiter, PostgresRateLimiter
from sandboxes.riot.app import DEFAULT_KEY, RiotSandbox
from sandboxes.riot.world import World
from sandboxes.serving import serve_in_background

HOST = "americas"


def worker(name, shared, database_url, base_url, puuids, match_ids, go, duration, results) -> None:
    limiter = PostgresRateLimiter(database_url, DEFAULT_KEY) if shared else InMemoryRateLimiter()
    results.put(("ready", name))
    go.wait()  # every process has imported: the clock starts for all at once
    end_at = time.time() + duration
    client = RiotClient(DEFAULT_KEY, limiter, base_url, deadline=end_at, max_throttled=1000)
    rng = random.Random(name)
    try:
        while time.time() < end_at:
            if rng.random() < 0.5:
                client.match_ids(HOST, rng.choice(puuids), count=20)
            else:
                client.match(HOST, rng.choice(match_ids))
    except RateBudgetExhausted:
        pass
    finally:
        client.close()
    results.put(
        {
            "name": name,
            "requests": client.requests_made,
            "throttled": client.throttled,
            "waited": round(limiter.waited_seconds, 1),
        }
    )


def fresh_database(server_url: str) -> tuple[str, str]:
    name = f"riot_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info["dbname"] = name
    return name, psycopg.conninfo.make_conninfo(**info)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of work")
    parser.add_argument("--quick", action="store_true", help="130 s instead of 10 minutes")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server (default: RIOT_DATABASE_URL / POSTGRES_URL / the embedded one)",
    )
    args = parser.parse_args(argv)
    duration = 130.0 if args.quick else args.duration
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server_url = args.database_url or postgres_from_env("RIOT_DATABASE_URL").resolved_url()
    db_name, db_url = fresh_database(server_url)

    world = World()
    puuids = [p.puuid for p in world.players["na1"]]
    match_ids = [m for m, plan in world.matches.items() if plan.platform == "na1"]
    match_ids = [m for m in match_ids if world.visible(world.matches[m], time.time())]
    shared_box, baseline_box = RiotSandbox(world), RiotSandbox(world)
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    with serve_in_background(shared_box) as a, serve_in_background(baseline_box) as b:
        go = ctx.Event()
        procs = [
            ctx.Process(
                target=worker,
                args=(
                    name,
                    shared,
                    db_url,
                    url + "/{host}",
                    puuids,
                    match_ids,
                    go,
                    duration,
                    results,
                ),
            )
            for name, shared, url in (
                ("shared-1", True, a.url),
                ("shared-2", True, a.url),
                ("baseline-1", False, b.url),
                ("baseline-2", False, b.url),
            )
        ]
        for p in procs:
            p.start()
        for _ in procs:
            results.get(timeout=300)  # ("ready", name)
        go.set()
        rows = {r["name"]: r for r in (results.get(timeout=duration + 120) for _ in procs)}
        for p in procs:
            p.join()

    quota = 100 * math.ceil(duration / 120)
    print(
        f"\nRiot dev-key limits {DEV_APP_LIMITS} on one routing host, {duration:.0f} s, 2 processes"
    )
    print(f"theoretical quota (back-to-back 120 s windows): {quota} requests\n")
    header = f"{'limiter':<28}{'proc 1':>8}{'proc 2':>8}{'accepted':>10}{'of quota':>10}{'429s':>7}"
    print(header)
    print("-" * len(header))
    for label, prefix, box in (
        ("shared (PostgreSQL)", "shared", shared_box),
        ("baseline: per process", "baseline", baseline_box),
    ):
        sent = box.count("requests")
        refused = box.count("429")
        accepted = sent - refused
        p1, p2 = rows[f"{prefix}-1"], rows[f"{prefix}-2"]
        print(
            f"{label:<28}{p1['requests']:>8}{p2['requests']:>8}{accepted:>10}"
            f"{accepted / quota:>10.1%}{refused:>7}"
        )
    print("\nper process (answers incl. 429s, 429s seen, seconds waiting for the limiter):")
    for name in sorted(rows):
        r = rows[name]
        print(
            f"  {name:<12} requests={r['requests']:<5} 429s={r['throttled']:<4} waited={r['waited']}s"
        )

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
