"""Parse mettagrid replays into supervised-learning rows: one row per agent per step.

Plain functions, no Dagster. Reads replay format versions 1 and 2 (zlib- or gzip-compressed
JSON) and rejects any other version by name.

Time-varying values are lists of `[step, value]` changes, each held until the next change.
The simulator records every value *after* the step's action, so the state an agent acted from at
step t is the value recorded at step t-1 (at step 0, the first recorded value). The action, its
success and the reward are those recorded at step t.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

SUPPORTED_VERSIONS = (1, 2)

# The dataset's fixed schema (documented in docs/replay_mining.md). Sort: episode_id, agent_id, step.
DATASET_SCHEMA = pa.schema(
    [
        pa.field("episode_id", pa.string(), nullable=False),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
        pa.field("policy", pa.string()),
        pa.field("environment", pa.string()),
        pa.field("replay_version", pa.int16(), nullable=False),
        pa.field("map_width", pa.int32()),
        pa.field("map_height", pa.int32()),
        pa.field("num_agents", pa.int32(), nullable=False),
        pa.field("max_steps", pa.int32(), nullable=False),
        pa.field("agent_id", pa.int32(), nullable=False),
        pa.field("group_id", pa.int32()),
        pa.field("step", pa.int32(), nullable=False),
        pa.field("position_x", pa.int32()),
        pa.field("position_y", pa.int32()),
        pa.field("orientation", pa.int32()),
        pa.field("inventory", pa.map_(pa.string(), pa.int32())),
        pa.field("action_id", pa.int32()),
        pa.field("action_name", pa.string()),
        pa.field("action_param", pa.int32()),
        pa.field("action_success", pa.bool_()),
        pa.field("reward", pa.float32()),
        pa.field("total_reward", pa.float32()),
    ]
)
SORT_KEYS = ("episode_id", "agent_id", "step")


class ReplayError(ValueError):
    """A replay that cannot be parsed; the message is the reason reported for it."""


@dataclass(frozen=True)
class Episode:
    """What the stats server says about an episode; copied into every row."""

    episode_id: str
    policy: str | None = None
    environment: str | None = None
    created_at: object = None  # datetime (UTC) or None


@dataclass(frozen=True)
class ParsedReplay:
    table: pa.Table
    action_names: list[str]
    max_steps: int
    version: int


def decode(data: bytes) -> dict:
    """Decompress (zlib or gzip) and parse the replay JSON."""
    if data[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ReplayError(f"corrupt gzip data: {exc}") from exc
    else:
        try:
            raw = zlib.decompress(data)
        except zlib.error as exc:
            raise ReplayError(f"corrupt zlib data: {exc}") from exc
    try:
        replay = json.loads(raw)
    except ValueError as exc:
        raise ReplayError(f"truncated or invalid JSON: {exc}") from exc
    if not isinstance(replay, dict):
        raise ReplayError("replay JSON is not an object")
    return replay


# --- change lists -------------------------------------------------------------------------------


def _is_change_list(value, constant_is_list: bool) -> bool:
    """Whether `value` is a list of [step, value] changes rather than a constant.

    For fields whose constant is itself a list (location, inventory), a change list is told apart
    by its elements' second items being lists: `[3, 4]` is a position, `[[0, [3, 4]], …]` changes.
    """
    if not isinstance(value, list) or not value:
        return False
    first = value[0]
    if not (isinstance(first, list) and len(first) == 2 and isinstance(first[0], int)):
        return False
    return isinstance(first[1], list) if constant_is_list else True


def _changes(value, constant_is_list: bool = False) -> tuple[np.ndarray, list]:
    """(steps, values) of a time-varying value; a constant is one change at step 0."""
    if _is_change_list(value, constant_is_list):
        return np.array([c[0] for c in value], dtype=np.int64), [c[1] for c in value]
    return np.zeros(1, dtype=np.int64), [value]


def _scalar_changes(value) -> tuple[np.ndarray, np.ndarray] | None:
    """Fast path for a numeric change list: one C-level conversion of the whole [[step, v], ...]."""
    if not (isinstance(value, list) and value and isinstance(value[0], list)):
        return None
    try:
        pairs = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        return None
    return pairs[:, 0].astype(np.int64), pairs[:, 1]


def _index_at(change_steps: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Index of the change in force at each step (before the first change: the first value)."""
    return np.maximum(np.searchsorted(change_steps, steps, side="right") - 1, 0)


def _scalar_series(value, steps: np.ndarray, dtype, default=0) -> np.ndarray:
    fast = _scalar_changes(value)
    if fast is not None:
        change_steps, numbers = fast
        return numbers.astype(dtype)[_index_at(change_steps, steps)]
    change_steps, values = _changes(value)
    values = [default if v is None else v for v in values]
    try:
        arr = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"non-numeric value in a time series: {exc}") from exc
    if arr.ndim != 1:
        raise ReplayError("a scalar time series holds lists")
    return arr[_index_at(change_steps, steps)]


def _position_series(value, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    change_steps, values = _changes(value, constant_is_list=True)
    try:
        xy = np.asarray([(v[0], v[1]) for v in values], dtype=np.int32)
    except (TypeError, ValueError, IndexError) as exc:
        raise ReplayError(f"bad location value: {exc}") from exc
    idx = _index_at(change_steps, steps)
    return xy[idx, 0], xy[idx, 1]


def _inventory_series(value, steps: np.ndarray, item_names: list[str]) -> pa.MapArray:
    """Inventory at each step as item name → count, from a constant or a change list."""
    change_steps, values = _changes(value, constant_is_list=True)
    offsets = [0]
    keys: list[str] = []
    counts: list[int] = []
    for inventory in values:
        for pair in inventory or []:
            try:
                item_id, count = pair
                keys.append(item_names[item_id])
            except (TypeError, ValueError, IndexError) as exc:
                raise ReplayError(f"bad inventory entry {pair!r}: {exc}") from exc
            counts.append(count)
        offsets.append(len(keys))
    per_change = pa.MapArray.from_arrays(
        pa.array(offsets, pa.int32()), pa.array(keys, pa.string()), pa.array(counts, pa.int32())
    )
    return per_change.take(pa.array(_index_at(change_steps, steps)))


def _v1_inventory_series(agent: dict, steps: np.ndarray) -> pa.MapArray:
    """Version 1 keeps one `inv:<item>` (or `agent:inv:<item>`) field per item."""
    items = []
    for field, value in agent.items():
        if field.startswith("agent:inv:"):
            items.append((field[len("agent:inv:") :], value))
        elif field.startswith("inv:"):
            items.append((field[len("inv:") :], value))
    n = len(steps)
    if not items:
        return pa.MapArray.from_arrays(
            pa.array(np.zeros(n + 1, np.int32)), pa.array([], pa.string()), pa.array([], pa.int32())
        )
    counts = np.stack([_scalar_series(v, steps, np.int32) for _, v in items], axis=1)  # (n, items)
    present = counts != 0  # an item with count 0 is not in the inventory
    offsets = np.concatenate([[0], np.cumsum(present.sum(axis=1))]).astype(np.int32)
    names = np.array([name for name, _ in items], dtype=object)
    item_index = np.nonzero(present)[1]
    return pa.MapArray.from_arrays(
        pa.array(offsets),
        pa.array(names[item_index], pa.string()),
        pa.array(counts[present], pa.int32()),
    )


# --- per-version agent extraction ---------------------------------------------------------------


def _agent_columns_v2(
    agent: dict, steps: np.ndarray, before: np.ndarray, item_names: list[str]
) -> dict:
    x, y = _position_series(agent.get("location", [0, 0]), before)
    return {
        "agent_id": int(agent["agent_id"]),
        "group_id": int(agent.get("group_id", 0) or 0),
        "position_x": x,
        "position_y": y,
        "orientation": _scalar_series(agent.get("orientation", 0), before, np.int32),
        "inventory": _inventory_series(agent.get("inventory", []), before, item_names),
        "action_id": _scalar_series(agent.get("action_id", 0), steps, np.int32),
        "action_param": _scalar_series(agent.get("action_param", 0), steps, np.int32),
        "action_success": _scalar_series(
            agent.get("action_success", False), steps, np.bool_, False
        ),
        "reward": _scalar_series(agent.get("current_reward", 0.0), steps, np.float32, 0.0),
        "total_reward": _scalar_series(agent.get("total_reward", 0.0), steps, np.float32, 0.0),
    }


def _agent_columns_v1(agent: dict, steps: np.ndarray, before: np.ndarray) -> dict:
    change_steps, actions = _changes(agent.get("action", [0, 0]), constant_is_list=True)
    try:
        pairs = np.asarray([(a[0], a[1]) for a in actions], dtype=np.int32)
    except (TypeError, ValueError, IndexError) as exc:
        raise ReplayError(f"bad action value: {exc}") from exc
    action_idx = _index_at(change_steps, steps)
    return {
        "agent_id": int(agent["agent_id"]),
        "group_id": int(agent.get("agent:group", 0) or 0),
        "position_x": _scalar_series(agent.get("c", 0), before, np.int32),
        "position_y": _scalar_series(agent.get("r", 0), before, np.int32),
        "orientation": _scalar_series(agent.get("agent:orientation", 0), before, np.int32),
        "inventory": _v1_inventory_series(agent, before),
        "action_id": pairs[action_idx, 0],
        "action_param": pairs[action_idx, 1],
        "action_success": _scalar_series(
            agent.get("action_success", False), steps, np.bool_, False
        ),
        "reward": _scalar_series(agent.get("reward", 0.0), steps, np.float32, 0.0),
        "total_reward": _scalar_series(agent.get("total_reward", 0.0), steps, np.float32, 0.0),
    }


def _repeat(value, type_: pa.DataType, n: int) -> pa.Array:
    return pa.array([value], type_).take(pa.array(np.zeros(n, dtype=np.int32)))


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a replay's JSON tree is alive.

    Decoding allocates millions of lists, and each allocation burst triggers a collection that
    walks the whole (acyclic) tree again: that was 80% of the decode time. Reference counting
    still frees everything as soon as the replay is done.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_replay(data: bytes, episode: Episode) -> ParsedReplay:
    """Turn one compressed replay into its rows, sorted by agent then step."""
    with _gc_paused():
        return _parse_replay(data, episode)


def _parse_replay(data: bytes, episode: Episode) -> ParsedReplay:
    replay = decode(data)
    version = replay.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise ReplayError(
            f"unsupported replay format version {version!r} (this parser reads versions "
            f"{', '.join(map(str, SUPPORTED_VERSIONS))})"
        )
    try:
        max_steps = int(replay["max_steps"])
        action_names = list(replay["action_names"])
        num_agents = int(replay["num_agents"])
        objects = replay["objects"] if version == 2 else replay["grid_objects"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ReplayError(f"missing or malformed top-level field: {exc}") from exc
    if max_steps <= 0:
        raise ReplayError(f"max_steps is {max_steps}: the replay recorded no steps")
    map_size = replay.get("map_size") or [None, None]
    item_names = list(replay.get("item_names") or replay.get("inventory_items") or [])

    steps = np.arange(max_steps, dtype=np.int32)
    before = np.maximum(steps - 1, 0)  # the state an agent acts from is the previous record
    agents = [o for o in objects if isinstance(o, dict) and "agent_id" in o]
    if not agents:
        raise ReplayError("the replay has no agents")
    try:
        agents.sort(key=lambda o: int(o["agent_id"]))
        columns = [
            _agent_columns_v2(a, steps, before, item_names)
            if version == 2
            else _agent_columns_v1(a, steps, before)
            for a in agents
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ReplayError(f"malformed agent object: {exc!r}") from exc
    if len({c["agent_id"] for c in columns}) != len(columns):
        raise ReplayError("two agent objects share an agent_id")

    action_ids = np.concatenate([c["action_id"] for c in columns])
    if action_ids.size and (action_ids.min() < 0 or action_ids.max() >= len(action_names)):
        raise ReplayError(
            f"action id {int(action_ids.max()) if action_ids.max() >= len(action_names) else int(action_ids.min())} "
            f"is outside the replay's {len(action_names)} action_names"
        )
    n = max_steps * len(columns)
    names = pa.array(action_names, pa.string()).take(pa.array(action_ids))

    def cat(key, type_):
        return pa.array(np.concatenate([c[key] for c in columns]), type_)

    table = pa.Table.from_arrays(
        [
            _repeat(episode.episode_id, pa.string(), n),
            _repeat(episode.created_at, pa.timestamp("us", tz="UTC"), n),
            _repeat(episode.policy, pa.string(), n),
            _repeat(episode.environment, pa.string(), n),
            _repeat(version, pa.int16(), n),
            _repeat(map_size[0], pa.int32(), n),
            _repeat(map_size[1], pa.int32(), n),
            _repeat(num_agents, pa.int32(), n),
            _repeat(max_steps, pa.int32(), n),
            pa.array(np.repeat(np.array([c["agent_id"] for c in columns], np.int32), max_steps)),
            pa.array(np.repeat(np.array([c["group_id"] for c in columns], np.int32), max_steps)),
            pa.array(np.tile(steps, len(columns))),
            cat("position_x", pa.int32()),
            cat("position_y", pa.int32()),
            cat("orientation", pa.int32()),
            pa.concat_arrays([c["inventory"] for c in columns]),
            pa.array(action_ids, pa.int32()),
            names,
            cat("action_param", pa.int32()),
            cat("action_success", pa.bool_()),
            cat("reward", pa.float32()),
            cat("total_reward", pa.float32()),
        ],
        schema=DATASET_SCHEMA,
    )
    return ParsedReplay(
        table=table, action_names=action_names, max_steps=max_steps, version=version
    )
