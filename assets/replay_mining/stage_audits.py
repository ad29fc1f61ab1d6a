"""The invariants of the three intermediate stages, checked on what a stage left in the lake for
one day (plain functions over the lake: the checks in `replay_index.py`, `raw_replays.py` and
`parsed_replays.py` call them). Each returns the problems it found, an empty list when it holds.

- the index: no episode twice, every episode with a replay URL;
- the download: every indexed episode is downloaded (its file present) or failed with a reason;
- the parse: every indexed episode has a part or a skip reason, and every listed part exists.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter

import pyarrow.parquet as pq

from assets.replay_mining.stages import PART_SUFFIX, index_key, parsed_prefix, raw_prefix
from resources.lake import Lake

SHOWN = 5  # problems named per day; the count covers them all


def _index_ids(lake: Lake, day: dt.date) -> list[str] | None:
    key = index_key(day)
    if not lake.exists(key):
        return None
    table = pq.read_table(io.BytesIO(lake.read_bytes(key)), columns=["episode_id"])
    return table.column("episode_id").to_pylist()


def _manifest(lake: Lake, key: str) -> dict | None:
    if not lake.exists(key):
        return None
    try:
        value = json.loads(lake.read_bytes(key))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _files(lake: Lake, prefix: str) -> set[str]:
    return {info.key.rsplit("/", 1)[-1] for info in lake.list(prefix + "/")}


def _unaccounted(ids: list[str], *accounted: set[str]) -> list[str]:
    covered = set().union(*accounted)
    return [i for i in ids if i not in covered]


def index_problems(lake: Lake, day: dt.date) -> list[str]:
    key = index_key(day)
    if not lake.exists(key):
        return [f"{day}: no index at {lake.uri(key)}"]
    table = pq.read_table(io.BytesIO(lake.read_bytes(key)), columns=["episode_id", "replay_url"])
    twice = [i for i, n in Counter(table.column("episode_id").to_pylist()).items() if n > 1]
    no_url = table.column("replay_url").null_count
    problems = [f"{day}: episode {i} appears twice" for i in twice[:SHOWN]]
    if no_url:
        problems.append(f"{day}: {no_url} episodes without a replay URL")
    return problems


def download_problems(lake: Lake, day: dt.date) -> list[str]:
    ids = _index_ids(lake, day)
    manifest = _manifest(lake, f"{raw_prefix(day)}/_manifest.json")
    if ids is None or manifest is None:
        return [f"{day}: no readable index or download manifest: run the stages for this day"]
    downloaded, failed = set(manifest.get("md5", {})), set(manifest.get("failed", {}))
    files = _files(lake, raw_prefix(day))
    missing = [i for i in sorted(downloaded) if f"{i}.json.z" not in files]
    unaccounted = _unaccounted(ids, downloaded, failed)
    return [f"{day}: episode {i} neither downloaded nor failed" for i in unaccounted[:SHOWN]] + [
        f"{day}: episode {i} recorded as downloaded, its file is missing" for i in missing[:SHOWN]
    ]


def parse_problems(lake: Lake, day: dt.date) -> list[str]:
    ids = _index_ids(lake, day)
    manifest = _manifest(lake, f"{parsed_prefix(day)}/_manifest.json")
    if ids is None or manifest is None:
        return [f"{day}: no readable index or parse manifest: run the stages for this day"]
    parts, failed = set(manifest.get("parts", [])), set(manifest.get("failed", {}))
    files = _files(lake, parsed_prefix(day))
    missing = [i for i in sorted(parts) if f"{i}{PART_SUFFIX}" not in files]
    unaccounted = _unaccounted(ids, parts, failed)
    return [f"{day}: episode {i} neither parsed nor skipped" for i in unaccounted[:SHOWN]] + [
        f"{day}: the part of episode {i} is listed but missing" for i in missing[:SHOWN]
    ]
