"""The work of each replay_mining stage for one UTC day, as plain functions.

They take the lake and the replay source as arguments (resources at run time, real servers in
tests) and return plain results that the assets turn into metadata. Layout in the lake:

    replay_mining/index/date=YYYY-MM-DD.parquet        the day's episodes (stage 1)
    raw/replays/date=YYYY-MM-DD/<episode>.json.z       downloaded replays (stage 2)
    raw/replays/date=YYYY-MM-DD/_manifest.json         what was downloaded or failed, and why
    parsed/replays/date=YYYY-MM-DD/<episode>.arrow     one part per parsed replay (stage 3)
    parsed/replays/date=YYYY-MM-DD/_manifest.json      which parts make the day, and the skips
    datasets/replays/replays_YYYYMMDD.parquet          the published dataset (stage 4)
    datasets/agent_observations/agent_observations_YYYYMMDD.parquet
                                                       what each agent saw (stage 5, opt-in)
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from assets.replay_mining.mettagrid import (
    DATASET_SCHEMA,
    MAX_DECOMPRESSED_BYTES,
    Episode,
    ReplayError,
    parse_replay,
)
from assets.replay_mining.observations import OBSERVATION_SCHEMA, rebuild_observations
from resources.lake import Lake
from resources.lake_tables import lake_key
from resources.replay_mining.settings import DATASET_KEY, INDEX_KEY, OBSERVATIONS_KEY
from resources.replay_mining.stats_api import EpisodeRecord, ReplayFetchError, md5_hex

# Bump when parsing changes what a part holds: parts written by another version are re-parsed.
PARSER_VERSION = "4"  # 3: versions 3 and 4, alive ... state_source; 4: step 0 by the simulator's configuration rule
# Parts are intermediate: Arrow IPC with LZ4 writes and reads at memory speed, unlike parquet.
PART_SUFFIX = ".arrow"
PART_OPTIONS = pa.ipc.IpcWriteOptions(compression=None)
INDEX_SCHEMA = pa.schema(
    [
        ("episode_id", pa.string()),
        ("replay_url", pa.string()),
        ("policy", pa.string()),
        ("environment", pa.string()),
        ("created_at", pa.string()),
    ]
)
ROW_GROUP_ROWS = 262_144
# Parquet encoding was half of the parse-and-write time: dictionary pages only for the columns
# that repeat (names, ids, per-episode constants), min/max statistics only for the columns people
# filter on. Same file size (1.7 MB for 462,748 rows), encoding 0.39 s -> 0.24 s.
DICTIONARY_COLUMNS = [
    "episode_id", "created_at", "policy", "environment", "replay_version", "map_width",
    "map_height", "num_agents", "max_steps", "group_id", "orientation", "inventory.key_value.key",
    "action_id", "action_name", "agent_policy", "vibe_id", "vibe_name", "state_source",
]  # fmt: skip
STATISTICS_COLUMNS = [
    "episode_id", "created_at", "policy", "environment", "replay_version", "agent_id", "step",
    "action_name", "alive", "agent_policy", "state_source",
]  # fmt: skip

log = logging.getLogger(__name__)


def index_key(day: dt.date) -> str:
    return lake_key(INDEX_KEY, day.isoformat())


def raw_prefix(day: dt.date) -> str:
    return f"raw/replays/date={day.isoformat()}"


def parsed_prefix(day: dt.date) -> str:
    return f"parsed/replays/date={day.isoformat()}"


def dataset_key(day: dt.date) -> str:
    return lake_key(DATASET_KEY, day.isoformat())


def _write_json(lake: Lake, key: str, value) -> None:
    lake.write_bytes(key, json.dumps(value, indent=1, sort_keys=True).encode())


def _read_json(lake: Lake, key: str, what: str, rerun: str):
    if not lake.exists(key):
        raise MissingUpstream(
            f"{what} is missing ({lake.uri(key)}): materialize {rerun} for this day first."
        )
    try:
        value = json.loads(lake.read_bytes(key))
        if not isinstance(value, dict):
            raise ValueError(f"it holds a JSON {type(value).__name__}, not an object")
        return value
    except ValueError as exc:  # JSONDecodeError, a cut-short or overwritten file
        raise CorruptIntermediate(
            f"{what} at {lake.uri(key)} is damaged ({exc}): re-run {rerun} for this day, which "
            "writes it again."
        ) from exc


class MissingUpstream(RuntimeError):
    """An upstream stage has not been run for this day."""


class CorruptIntermediate(RuntimeError):
    """A file an earlier stage wrote cannot be read; the message names it and what to re-run."""


# --- stage 1: index -----------------------------------------------------------------------------


def write_index(lake: Lake, day: dt.date, episodes: list[EpisodeRecord]) -> pa.Table:
    # Duplicate ids from the server would duplicate rows downstream: keep the first.
    seen: set[str] = set()
    unique = [e for e in episodes if not (e.episode_id in seen or seen.add(e.episode_id))]
    table = pa.Table.from_pylist(
        [
            {
                "episode_id": e.episode_id,
                "replay_url": e.replay_url,
                "policy": e.policy,
                "environment": e.environment,
                "created_at": e.created_at,
            }
            for e in unique
        ],
        schema=INDEX_SCHEMA,
    )
    with lake.publish(index_key(day)) as path:
        pq.write_table(table, path)
    return table


def read_index(lake: Lake, day: dt.date) -> list[dict]:
    key = index_key(day)
    if not lake.exists(key):
        raise MissingUpstream(
            f"the replay index for {day} is missing ({lake.uri(key)}): materialize replay_index first."
        )
    return pq.read_table(io.BytesIO(lake.read_bytes(key))).to_pylist()


# --- stage 2: download --------------------------------------------------------------------------


@dataclass
class DownloadResult:
    downloaded: int = 0
    already_present: int = 0
    bytes_downloaded: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # episode id → reason
    md5: dict[str, str] = field(default_factory=dict)  # episode id → md5 of the raw file


def _is_identical(lake: Lake, key: str, files, url: str) -> str | None:
    """The md5 of the lake copy when it is present and identical to the source, else None."""
    size = lake.size(key)
    if size is None:
        return None
    remote = files.info(url)
    if remote.size is not None and remote.size != size:
        return None
    local_md5 = lake.md5(key)
    if remote.md5 is not None and remote.md5 != local_md5:
        return None
    return local_md5


def download_day(
    lake: Lake,
    files,
    day: dt.date,
    episodes: list[dict],
    concurrency: int = 8,
    progress: Callable[[str], None] = log.info,
) -> DownloadResult:
    """Fetch each replay into the lake with a bounded pool; skip copies already identical."""
    result = DownloadResult()
    prefix = raw_prefix(day)

    def one(episode: dict) -> tuple[str, str, int, str]:
        episode_id, url = episode["episode_id"], episode["replay_url"]
        key = f"{prefix}/{episode_id}.json.z"
        try:
            same = _is_identical(lake, key, files, url)
            if same:
                return episode_id, "present", 0, same
            data = files.fetch(url)
            lake.write_bytes(key, data)
            return episode_id, "downloaded", len(data), md5_hex(data)
        except ReplayFetchError as exc:
            return episode_id, "failed", 0, str(exc)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for done, (episode_id, status, size, detail) in enumerate(pool.map(one, episodes), 1):
            if status == "failed":
                result.failed[episode_id] = f"download failed: {detail}"
            else:
                result.md5[episode_id] = detail
                if status == "present":
                    result.already_present += 1
                else:
                    result.downloaded += 1
                    result.bytes_downloaded += size
            if done % 100 == 0:  # the day's end is in its record
                progress(f"{day}: {done}/{len(episodes)} replays fetched or checked")
    _write_json(lake, f"{prefix}/_manifest.json", {"md5": result.md5, "failed": result.failed})
    return result


# --- stage 3: parse -----------------------------------------------------------------------------


@dataclass
class ParseResult:
    parsed: int = 0
    resumed: int = 0
    rows: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # includes the download failures
    parts: list[str] = field(default_factory=list)  # episode ids with a part, in index order

    @property
    def total(self) -> int:
        return len(self.parts) + len(self.failed)


def _part_is_current(lake: Lake, key: str, source_md5: str) -> int | None:
    """Row count of an existing part written by this parser from the same raw file, else None."""
    if not lake.exists(key):
        return None
    try:
        table = read_part(lake, key)
    except (pa.ArrowInvalid, OSError):
        return None
    kv = table.schema.metadata or {}
    if (
        kv.get(b"parser_version") != PARSER_VERSION.encode()
        or kv.get(b"source_md5") != source_md5.encode()
    ):
        return None
    return table.num_rows


def read_part(lake: Lake, key: str) -> pa.Table:
    return pa.ipc.open_file(pa.BufferReader(lake.read_bytes(key))).read_all()


def _read_part_for_dataset(lake: Lake, day: dt.date, episode_id: str) -> pa.Table:
    key = f"{parsed_prefix(day)}/{episode_id}{PART_SUFFIX}"
    if not lake.exists(key):
        raise MissingUpstream(
            f"the parsed part {lake.uri(key)} listed in the parse manifest for {day} is missing: "
            "re-run parsed_replays for this day, which writes it again."
        )
    try:
        return read_part(lake, key)
    except (pa.ArrowInvalid, OSError) as exc:  # cut short, overwritten
        raise CorruptIntermediate(
            f"the parsed part {lake.uri(key)} is damaged ({exc}): re-run parsed_replays for {day} "
            "(it parses again every part it cannot read), then replay_dataset."
        ) from exc


def write_part(lake: Lake, key: str, table: pa.Table) -> None:
    with (
        lake.publish(key) as path,
        pa.OSFile(str(path), "wb") as sink,
        pa.ipc.new_file(sink, table.schema, options=PART_OPTIONS) as writer,
    ):
        writer.write_table(table)


def parse_day(
    lake: Lake,
    day: dt.date,
    episodes: list[dict],
    progress: Callable[[str], None] = log.info,
    max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES,
) -> ParseResult:
    """Parse each downloaded replay into its own part; a crashed day resumes at the first missing
    part. A replay decompressing to more than `max_decompressed_bytes` is skipped as a bomb."""
    manifest = _read_json(
        lake, f"{raw_prefix(day)}/_manifest.json", f"the download manifest for {day}", "raw_replays"
    )
    result = ParseResult(failed=dict(manifest["failed"]))
    for done, episode in enumerate(episodes, 1):
        episode_id = episode["episode_id"]
        if episode_id in result.failed:
            continue
        source_md5 = manifest["md5"].get(episode_id)
        if source_md5 is None:
            result.failed[episode_id] = "download missing: re-run raw_replays for this day"
            continue
        part_key = f"{parsed_prefix(day)}/{episode_id}{PART_SUFFIX}"
        rows = _part_is_current(lake, part_key, source_md5)
        if rows is not None:
            result.resumed += 1
        else:
            try:
                parsed = parse_replay(
                    lake.read_bytes(f"{raw_prefix(day)}/{episode_id}.json.z"),
                    Episode(
                        episode_id=episode_id,
                        policy=episode["policy"],
                        environment=episode["environment"],
                        created_at=_timestamp(episode["created_at"]),
                    ),
                    max_decompressed_bytes,
                )
            except ReplayError as exc:
                result.failed[episode_id] = str(exc)
                lake.delete(part_key)  # a stale part of an older raw file must not survive
                continue
            table = parsed.table.replace_schema_metadata(
                {
                    "parser_version": PARSER_VERSION,
                    "source_md5": source_md5,
                    "action_names": json.dumps(parsed.action_names),
                    "max_steps": str(parsed.max_steps),
                }
            )
            write_part(lake, part_key, table)
            rows = table.num_rows
            result.parsed += 1
        result.rows += rows
        result.parts.append(episode_id)
        if done % 100 == 0:
            progress(f"{day}: {done}/{len(episodes)} replays parsed")
    _write_json(
        lake,
        f"{parsed_prefix(day)}/_manifest.json",
        {"parts": result.parts, "failed": result.failed},
    )
    return result


def _timestamp(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# --- stage 4: dataset ---------------------------------------------------------------------------


@dataclass
class DatasetChecks:
    """Data-quality facts gathered while streaming the parts into the dataset."""

    schema_ok: bool = True
    duplicate_keys: int = 0
    unknown_actions: int = 0
    steps_out_of_range: int = 0
    problems: list[str] = field(default_factory=list)

    def failed(self) -> list[str]:
        out = []
        if not self.schema_ok:
            out.append("schema")
        if self.duplicate_keys:
            out.append("unique (episode, agent, step)")
        if self.unknown_actions:
            out.append("action names")
        if self.steps_out_of_range:
            out.append("steps within max_steps")
        return out


@dataclass
class DatasetResult:
    key: str
    rows: int
    episodes: int
    bytes: int
    failed: dict[str, str]
    checks: DatasetChecks
    preview: list[dict]


def _check_part(episode_id: str, table: pa.Table, checks: DatasetChecks) -> None:
    if not table.schema.equals(DATASET_SCHEMA, check_metadata=False):
        checks.schema_ok = False
        checks.problems.append(f"{episode_id}: schema differs from the documented one")
        return
    kv = table.schema.metadata or {}
    action_names = json.loads(kv.get(b"action_names", b"[]"))
    max_steps = int(kv.get(b"max_steps", b"0"))
    names = table.column("action_name")  # null where the agent was not in the game
    unknown = int(
        pc.sum(
            pc.and_(
                pc.is_valid(names),
                pc.invert(pc.is_in(names, value_set=pa.array(action_names, pa.string()))),
            )
        ).as_py()
        or 0
    )
    checks.unknown_actions += unknown
    steps = table.column("step").to_numpy()
    out_of_range = int(((steps < 0) | (steps >= max_steps)).sum())
    checks.steps_out_of_range += out_of_range
    # Parts are sorted by (agent, step): a key that does not strictly increase is a duplicate.
    agents = table.column("agent_id").to_numpy().astype(np.int64)
    order = agents * (1 << 32) + steps.astype(np.int64)
    duplicates = int((np.diff(order) <= 0).sum())
    checks.duplicate_keys += duplicates
    if unknown or out_of_range or duplicates:
        checks.problems.append(
            f"{episode_id}: {unknown} unknown actions, {out_of_range} steps out of range, {duplicates} repeated keys"
        )


def write_dataset(lake: Lake, day: dt.date) -> DatasetResult:
    """Stream the day's parts, in episode order, into one parquet file and publish it atomically.

    Memory holds one row group (or one part) at a time. The file is published only when every
    check passes (write, audit, publish): a failing day leaves the previous file, if any, as it was.
    """
    manifest = _read_json(
        lake,
        f"{parsed_prefix(day)}/_manifest.json",
        f"the parse manifest for {day}",
        "parsed_replays",
    )
    episode_ids = sorted(manifest["parts"])
    checks = DatasetChecks()
    if len(set(episode_ids)) != len(episode_ids):
        checks.duplicate_keys += len(episode_ids) - len(set(episode_ids))
    key = dataset_key(day)
    rows = 0
    preview: list[dict] = []
    with lake.publish(key) as path:
        with pq.ParquetWriter(
            path,
            DATASET_SCHEMA,
            compression="zstd",
            use_dictionary=DICTIONARY_COLUMNS,
            write_statistics=STATISTICS_COLUMNS,
        ) as writer:
            pending: list[pa.Table] = []
            pending_rows = 0
            for episode_id in episode_ids:
                table = _read_part_for_dataset(lake, day, episode_id)
                _check_part(episode_id, table, checks)
                table = table.replace_schema_metadata(None)
                if not checks.schema_ok:
                    break
                if len(preview) < 5:
                    preview.extend(table.slice(0, 5 - len(preview)).to_pylist())
                pending.append(table)
                pending_rows += table.num_rows
                rows += table.num_rows
                if pending_rows >= ROW_GROUP_ROWS:
                    writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
                    pending, pending_rows = [], 0
            if pending:
                writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
        if checks.failed():
            raise DatasetCheckFailed(day, checks)
        size = path.stat().st_size
    return DatasetResult(
        key=key,
        rows=rows,
        episodes=len(episode_ids),
        bytes=size,
        failed=manifest["failed"],
        checks=checks,
        preview=preview,
    )


class DatasetCheckFailed(RuntimeError):
    def __init__(self, day: dt.date, checks: DatasetChecks):
        self.checks = checks
        super().__init__(
            f"The replay dataset for {day} failed its checks ({', '.join(checks.failed())}) and was not "
            f"published; any earlier file is unchanged. Problems: {'; '.join(checks.problems[:5])}"
        )


# --- stage 5 (opt-in): what each agent observed -------------------------------------------------

# Observation rows are about 50 tokens (150 bytes) each: smaller row groups than the dataset's
# keep one group's buffers to a few tens of MB.
OBSERVATION_ROW_GROUP_ROWS = 65_536
OBSERVATION_DICTIONARY_COLUMNS = [
    "episode_id", "action_id", "action_name", "obs_source", "obs_width", "obs_height",
    "obs_features",
]  # fmt: skip


def observations_key(day: dt.date) -> str:
    return lake_key(OBSERVATIONS_KEY, day.isoformat())


class ObservationsRejected(RuntimeError):
    """A day's observations that repeat a key: not published (the check
    `episode_agent_step_unique` fails for that day)."""

    def __init__(self, day: dt.date, duplicate_keys: int):
        self.duplicate_keys = duplicate_keys
        super().__init__(
            f"The observations of {day} repeat {duplicate_keys} (episode, agent, step) keys and "
            "were not published; any earlier file is unchanged"
        )


@dataclass
class ObservationsResult:
    key: str
    rows: int = 0
    rows_rebuilt: int = 0
    episodes: int = 0
    tokens: int = 0
    bytes: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # episode id -> reason
    not_rebuilt: dict[str, int] = field(default_factory=dict)  # feature -> episodes using it
    duplicate_keys: int = 0


def write_observations(
    lake: Lake, day: dt.date, progress: Callable[[str], None] = log.info
) -> ObservationsResult:
    """Rebuild the observations of every replay the parse stage read, one replay in memory at a
    time, stream them in episode order into one parquet file and publish it atomically.

    A replay that cannot give them (an older version, a configuration this rebuild does not
    follow) is skipped with its reason; its rows stay in replay_dataset."""
    manifest = _read_json(
        lake, f"{parsed_prefix(day)}/_manifest.json", f"the parse manifest for {day}",
        "parsed_replays",
    )  # fmt: skip
    result = ObservationsResult(key=observations_key(day))
    with lake.publish(result.key) as path:
        with pq.ParquetWriter(
            path,
            OBSERVATION_SCHEMA,
            compression="zstd",
            use_dictionary=OBSERVATION_DICTIONARY_COLUMNS,
            write_statistics=["episode_id", "agent_id", "step", "obs_source"],
        ) as writer:
            pending: list[pa.Table] = []
            pending_rows = 0
            episode_ids = sorted(manifest["parts"])
            for done, episode_id in enumerate(episode_ids, 1):
                raw_key = f"{raw_prefix(day)}/{episode_id}.json.z"
                if not lake.exists(raw_key):
                    raise MissingUpstream(
                        f"the raw replay {lake.uri(raw_key)} listed in the parse manifest for "
                        f"{day} is missing: re-run raw_replays and parsed_replays for this day."
                    )
                try:
                    rebuilt = rebuild_observations(lake.read_bytes(raw_key), episode_id)
                except ReplayError as exc:
                    result.skipped[episode_id] = str(exc)
                    continue
                table = rebuilt.table
                for feature in rebuilt.not_rebuilt:
                    result.not_rebuilt[feature] = result.not_rebuilt.get(feature, 0) + 1
                keys = table.column("agent_id").to_numpy().astype(np.int64) * (1 << 32)
                keys += table.column("step").to_numpy()
                result.duplicate_keys += int((np.diff(keys) <= 0).sum())
                source = table.column("obs_source")
                result.rows_rebuilt += int(pc.sum(pc.equal(source, "rebuilt")).as_py() or 0)
                result.tokens += (
                    int(pc.sum(pc.binary_length(table.column("observation"))).as_py() or 0) // 3
                )
                result.rows += table.num_rows
                result.episodes += 1
                pending.append(table)
                pending_rows += table.num_rows
                if pending_rows >= OBSERVATION_ROW_GROUP_ROWS:
                    writer.write_table(
                        pa.concat_tables(pending), row_group_size=OBSERVATION_ROW_GROUP_ROWS
                    )
                    pending, pending_rows = [], 0
                if done % 100 == 0:
                    progress(f"{day}: {done}/{len(episode_ids)} replays' observations rebuilt")
            if pending:
                writer.write_table(
                    pa.concat_tables(pending), row_group_size=OBSERVATION_ROW_GROUP_ROWS
                )
        if result.duplicate_keys:
            raise ObservationsRejected(day, result.duplicate_keys)
        result.bytes = path.stat().st_size
    return result
