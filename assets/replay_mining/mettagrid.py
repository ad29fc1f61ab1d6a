"""Parse mettagrid replays into supervised-learning rows: one row per agent per step.

Plain functions, no Dagster. Reads replay format versions 1, 2, 3 and 4 (zlib or gzip, told apart
by their magic bytes) and rejects any other version by name. Unknown keys are ignored; a missing
required key is a `ReplayError` naming it.

Time-varying values are lists of `[step, value]` changes, each held until the next change; a value
that never changes is written bare. The simulator records every value *after* the step's action,
so record t holds action t, its success and its reward, and the state an agent acted from at step
t is record t-1. Nothing is recorded before action 0: at step 0 the state columns hold what the
replay's configuration says (`mg_config`: initial inventory, vibe) and null otherwise, and the
`state_source` column says so (docs/replay_mining.md has the rule column by column).

Change lists are expanded with numpy for all agents of a replay at once: each field's changes are
flattened into one array, scattered onto the (agent, step) grid and carried forward with
`np.maximum.accumulate`, so no Python work is done per step.
"""

from __future__ import annotations

import contextlib
import gc
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain

import msgspec
import numpy as np
import pyarrow as pa

SUPPORTED_VERSIONS = (1, 2, 3, 4)

# The dataset's fixed schema (documented in docs/replay_mining.md). Sort: episode_id, agent_id, step.
# Columns from `alive` on were added with versions 3 and 4; the ones before keep their places.
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
        pa.field("alive", pa.bool_(), nullable=False),
        pa.field("agent_policy", pa.string()),
        pa.field("vibe_id", pa.int32()),
        pa.field("vibe_name", pa.string()),
        pa.field("state_source", pa.string(), nullable=False),
    ]
)
SORT_KEYS = ("episode_id", "agent_id", "step")

# `state_source` values: where the state columns (position, orientation, inventory, vibe) of a row
# come from.
RECORDED = "recorded"  # the record of step t-1
CONFIGURED = (
    "configured"  # step 0: mg_config's initial inventory and vibe; position, orientation null
)
UNRECORDED = "unrecorded"  # step 0 of a replay that configures nothing: every state column null
ABSENT = "absent"  # the agent was not in the game (alive false): every per-step column null
STATE_SOURCES = pa.array([RECORDED, CONFIGURED, UNRECORDED, ABSENT], pa.string())


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


REDOWNLOAD = "re-run raw_replays for this day to fetch it again; if it fails the same way, the file is damaged at its source"


# A replay may decompress to at most this much (real replays: 0.2-30 MB); past it, it is refused
# as a decompression bomb. Output is kept only up to KEEP_BYTES on the first pass, so refusing a
# bomb costs no more memory than a large real replay (a bigger one is decompressed again, whole).
MAX_DECOMPRESSED_BYTES = 512 * 2**20
KEEP_BYTES = 32 * 2**20
CHUNK_BYTES = 2**20
GZIP_MAGIC = b"\x1f\x8b"


def decompress(data: bytes, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """zlib or gzip, told apart by the magic bytes (`1f 8b` gzip, `78 xx` zlib), not the name;
    streamed, and refused past `max_bytes` without holding more than KEEP_BYTES of it."""
    if data[:2] == GZIP_MAGIC:
        kind, wbits = "gzip", 16 + zlib.MAX_WBITS
    elif data[:1] == b"\x78":
        kind, wbits = "zlib", zlib.MAX_WBITS
    else:
        raise ReplayError(
            f"not a zlib or gzip file (it starts with {data[:4].hex(' ') or 'nothing'}): {REDOWNLOAD}"
        )
    keep = min(max_bytes, KEEP_BYTES)
    size, kept = _inflate(data, kind, wbits, max_bytes, keep)
    if size > max_bytes:
        raise ReplayError(
            f"decompresses to more than {max_bytes // 2**20} MiB (a decompression bomb, or a "
            "replay far larger than any real one): skipped; raise REPLAY_MAX_DECOMPRESSED_MB if "
            "such replays are real"
        )
    if kept is None:  # larger than what the first pass keeps, within the cap: inflate it whole
        _, kept = _inflate(data, kind, wbits, max_bytes, max_bytes)
    return kept


def _inflate(data: bytes, kind: str, wbits: int, max_bytes: int, keep: int):
    """(decompressed size, the bytes when size <= keep else None); stops counting past max_bytes.
    Concatenated gzip members are read one after the other, as gzip.decompress does."""
    chunks: list[bytes] | None = []
    size, pending = 0, data
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            while size <= max_bytes:
                chunk = inflater.decompress(pending, CHUNK_BYTES)
                pending = inflater.unconsumed_tail
                size += len(chunk)
                if chunks is not None and size <= keep:
                    chunks.append(chunk)
                else:
                    chunks = None  # past what this pass keeps: only count from here
                if inflater.eof or not (chunk or pending):
                    break
        except zlib.error as exc:
            raise ReplayError(f"corrupt {kind} data ({exc}): {REDOWNLOAD}") from exc
        if size > max_bytes:
            return size, None
        if not inflater.eof:
            message = "gzip stream cut short" if kind == "gzip" else "corrupt zlib data"
            raise ReplayError(
                f"{message} (compressed file ended before the end-of-stream marker was "
                f"reached): {REDOWNLOAD}"
            )
        pending = inflater.unused_data
        if kind != "gzip" or not pending.lstrip(b"\x00"):
            break  # zlib is one stream; gzip may pad members with zeros
        pending = pending.lstrip(b"\x00")
    return size, (b"".join(chunks) if chunks is not None else None)


_NOT_GIVEN = msgspec.Raw(b"")

# The agent keys the dataset reads (versions 2-4), kept as raw JSON until the object turns out to
# be an agent: the thousands of walls and buildings of a replay are skipped, not built as dicts.
AGENT_KEYS = (
    "agent_id", "alive", "group_id", "location", "orientation", "inventory", "action_id",
    "action_param", "action_parameter", "action_success", "current_reward", "total_reward",
    "vibe_id", "vibe", "policy_infos",
)  # fmt: skip
_Object = msgspec.defstruct(
    "_Object", [(key, msgspec.Raw, _NOT_GIVEN) for key in AGENT_KEYS], forbid_unknown_fields=False
)


class _Replay(msgspec.Struct):
    """The top level; any other key (infos, policy_env_interface, tags...) is skipped."""

    version: object = msgspec.UNSET
    max_steps: object = msgspec.UNSET
    num_agents: object = msgspec.UNSET
    action_names: object = msgspec.UNSET
    item_names: object = None
    map_size: object = None
    mg_config: object = None
    objects: list[_Object] | msgspec.UnsetType = msgspec.UNSET  # versions 2-4
    grid_objects: list[dict[str, msgspec.Raw]] | msgspec.UnsetType = msgspec.UNSET  # version 1


_REPLAY = msgspec.json.Decoder(_Replay)
_ANY = msgspec.json.Decoder()


class _PolicyInfo(msgspec.Struct):
    policy_name: object = None


_POLICY_CHANGES = msgspec.json.Decoder(list[tuple[int, _PolicyInfo]])


def decode(data: bytes, max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES) -> _Replay:
    """Decompress and parse the replay JSON (objects' fields stay raw until read)."""
    raw = decompress(data, max_decompressed_bytes)
    try:
        return _REPLAY.decode(raw)
    except msgspec.ValidationError as exc:
        if str(exc).startswith("Expected `object`, got") and "- at" not in str(exc):
            raise ReplayError(
                "replay JSON is not an object: this is not a mettagrid replay"
            ) from exc
        raise ReplayError(
            f"malformed replay ({exc}): the file is not a valid mettagrid replay"
        ) from exc
    except msgspec.DecodeError as exc:
        raise ReplayError(f"truncated or invalid JSON ({exc}): {REDOWNLOAD}") from exc


def _agents_of(replay: _Replay, version: int) -> list[dict]:
    """The agent objects: key -> raw JSON bytes (read by the fast paths below, decoded to Python
    values only when a field does not fit them), with `agent_id` decoded."""
    if version == 1:
        agents = [dict(obj) for obj in replay.grid_objects if "agent_id" in obj]
    else:
        agents = [
            {key: raw for key in AGENT_KEYS if (raw := getattr(obj, key))}
            for obj in replay.objects
            if obj.agent_id
        ]
    for agent in agents:
        agent["agent_id"] = _ANY.decode(agent["agent_id"])
    return agents


def _decoded(raws: list) -> list:
    """(agent_id, Python value) from (agent_id, raw JSON or None)."""
    return [(agent_id, None if raw is None else _ANY.decode(raw)) for agent_id, raw in raws]


# --- fast paths: numbers read straight from the raw JSON bytes ----------------------------------
# A change list such as `[[0, 3], [5, 4]]` loses its brackets and is decoded as one flat array of
# numbers (msgspec, typed: no Python list per change), and numpy reshapes it. The bracket and
# comma counts check the shape; anything unusual (placeholders, nulls, strings) returns None and
# the field is decoded and read the slow way, which also names what is wrong.

_FLAT_NUMBERS = msgspec.json.Decoder(list[float])
_DROP = b" \t\r\n[]"


def _numbers(pieces: list[bytes], expected: int) -> np.ndarray | None:
    """The numbers of JSON arrays of numbers, in order, or None if they are not `expected`."""
    text = b",".join(pieces).translate(None, _DROP)
    while b",," in text:  # empty arrays leave commas
        text = text.replace(b",,", b",")
    text = text.strip(b",")
    try:
        numbers = _FLAT_NUMBERS.decode(b"[" + text + b"]") if text else []
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if len(numbers) != expected:
        return None
    return np.array(numbers, dtype=np.float64)


def _booleans(raw: bytes) -> bytes:
    return raw.replace(b"true", b"1").replace(b"false", b"0") if b"e" in raw else raw


def _scalars_fast(raws: list, default: bytes):
    """(steps, values, starts) of a scalar field, or None."""
    pieces, counts = [], [0]
    for _, raw in raws:
        raw = _booleans(bytes(raw)) if raw is not None else default
        opens = raw.count(b"[")
        if opens == 0:
            pieces.append(b"0," + raw)
            counts.append(1)
            continue
        changes = opens - 1
        if changes < 1 or raw.count(b",") != 2 * changes - 1:
            return None
        pieces.append(raw)
        counts.append(changes)
    starts = np.cumsum(counts)
    numbers = _numbers(pieces, 2 * int(starts[-1]))
    if numbers is None:
        return None
    pairs = numbers.reshape(-1, 2)
    return pairs[:, 0].astype(np.int64), pairs[:, 1], starts


def _points_fast(raws: list):
    """(steps, (a, b) pairs, starts) of a location-like field (`[x, y]`, `[x, y, layer]`,
    version 1's `[action, param]`), or None."""
    pieces, counts, width = [], [0], None
    for _, raw in raws:
        if raw is None:
            return None
        raw = bytes(raw)
        opens, commas = raw.count(b"["), raw.count(b",")
        if opens == 1:  # a constant point
            changes, entry_width = 1, commas + 1
            raw = b"0," + raw
        else:
            changes = (opens - 1) // 2
            if changes < 1 or opens != 2 * changes + 1 or (commas + 1) % changes:
                return None
            entry_width = (commas + 1) // changes - 1
        if entry_width < 2 or width not in (None, entry_width):
            return None
        width = entry_width
        pieces.append(raw)
        counts.append(changes)
    starts = np.cumsum(counts)
    numbers = _numbers(pieces, (width + 1) * int(starts[-1]))
    if numbers is None:
        return None
    rows = numbers.reshape(-1, width + 1).astype(np.int64)
    return rows[:, 0], rows[:, 1:3], starts


_OPEN, _CLOSE, _MINUS = ord("["), ord("]"), ord("-")
_BRACKET_STEP = np.zeros(256, dtype=np.int16)
_BRACKET_STEP[_OPEN], _BRACKET_STEP[_CLOSE] = 1, -1
_NUMBER_START = np.zeros(256, dtype=bool)
_NUMBER_START[list(b"0123456789-")] = True


def _inventory_fast(raws: list):
    """(steps, sizes, pairs, starts) of every agent's inventory changes, or None.

    An inventory is a constant `[[item, count], ...]` (nesting depth 2) or a change list
    `[[step, [[item, count], ...]], ...]` (depth 4): the depth of each number tells a step from
    an item or a count.
    """
    pieces = [
        bytes(raw).translate(None, b" \t\r\n") if raw is not None else b"[]" for _, raw in raws
    ]
    joined = b",".join(pieces)
    if any(c in joined for c in (b".", b"e", b'"', b"n")):
        return None
    chars = np.frombuffer(joined, dtype=np.uint8)
    depth = np.cumsum(_BRACKET_STEP[chars], dtype=np.int16)  # nesting after each character
    digit = _NUMBER_START[chars]
    first = np.flatnonzero(digit & ~np.concatenate(([False], digit[:-1])))  # each number's start
    token_depth = depth[first]
    bounds = np.cumsum([0] + [len(p) + 1 for p in pieces])  # where each agent's bytes start
    agents = len(pieces)
    token_agent = np.searchsorted(bounds, first, side="right") - 1
    agent_start = np.searchsorted(token_agent, np.arange(agents + 1))
    max_depth = np.maximum.reduceat(depth, bounds[:-1])
    if (max_depth > 4).any():
        return None
    changing = max_depth >= 3  # a change list (`[[0, []], ...]` included), else a constant
    is_pair = token_depth == np.where(changing, 4, 2)[token_agent]
    is_step = ~is_pair
    if (token_depth[is_step] != 2).any() or (is_step & ~changing[token_agent]).any():
        return None
    # Each [item, count] holds two numbers: an item right after `[`, a count right after `,`.
    before_pair = chars[first[is_pair] - 1]
    if (
        before_pair.size % 2
        or (before_pair[0::2] != _OPEN).any()
        or (before_pair[1::2] != 44).any()
    ):
        return None
    # Each change `[step, [...]]` holds exactly one step number (not a placeholder pair).
    entry_opens = np.flatnonzero((chars == _OPEN) & (depth == 2))
    entries = np.bincount(np.searchsorted(bounds, entry_opens, side="right") - 1, minlength=agents)
    steps_per_agent = np.bincount(token_agent[is_step], minlength=agents)
    if (entries[changing] != steps_per_agent[changing]).any():
        return None
    numbers = _numbers(pieces, len(first))
    if numbers is None:
        return None
    values = numbers.astype(np.int64)
    steps, sizes, pair_values, starts = [], [], [], [0]
    for agent in range(agents):
        lo, hi = agent_start[agent], agent_start[agent + 1]
        vals, step_mask = values[lo:hi], is_step[lo:hi]
        if not changing[agent]:  # a constant inventory
            steps.append(np.zeros(1, dtype=np.int64))
            sizes.append(np.array([len(vals) // 2]))
            pair_values.append(vals)
        else:
            change = np.cumsum(step_mask) - 1
            steps.append(vals[step_mask])
            sizes.append(np.bincount(change[~step_mask], minlength=int(entries[agent])) // 2)
            pair_values.append(vals[~step_mask])
        starts.append(starts[-1] + len(steps[-1]))
    return (
        np.concatenate(steps),
        np.concatenate(sizes).astype(np.int64),
        np.concatenate(pair_values).reshape(-1, 2),
        np.asarray(starts, dtype=np.int64),
    )


def _policy_infos(raw: msgspec.Raw):
    """`policy_infos` with only `policy_name` read from each object (the free-text `message`
    and anything else skipped); a value of another shape is decoded as is, to be named."""
    try:
        return [
            [step, {"policy_name": info.policy_name}] for step, info in _POLICY_CHANGES.decode(raw)
        ]
    except msgspec.ValidationError:
        return _ANY.decode(raw)


# --- change lists -------------------------------------------------------------------------------


def _is_list_changes(value) -> bool:
    """A field whose value is itself a list (location, inventory, an action pair).

    A constant `[3, 4]` or `[[6, 100]]` (item 6 x 100: a constant inventory that looks like a
    change list) has no list among its entries' second items; a change list has, in its first
    entry or, for a key that appeared late (`[[0, 0], [k, value]]`), in its second.
    """
    if not isinstance(value, list) or not value:
        return False
    for entry in value[:2]:
        if not isinstance(entry, list) or len(entry) != 2:
            return False
        if isinstance(entry[1], list):
            return True
    return False


class _Grid:
    """The (agent, step) grid of one replay, and the expansion of change lists onto it.

    `index(steps, agent_starts)` turns a field's flattened changes (the step of each change and
    where each agent's changes start) into, for every row, the index of the change in force.
    """

    def __init__(self, num_agents: int, num_steps: int):
        self.agents, self.steps = num_agents, num_steps
        self.rows = num_agents * num_steps
        self.row_agent = np.repeat(np.arange(num_agents, dtype=np.int64), num_steps)
        self.step = np.tile(np.arange(num_steps, dtype=np.int32), num_agents)
        self.first_step = self.step == 0

    def index(self, steps: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Row -> index of the change in force at that row's step (its record)."""
        counts = np.diff(starts)
        change_agent = np.repeat(np.arange(self.agents, dtype=np.int64), counts)
        clipped = np.clip(steps, 0, self.steps)  # a change at max_steps or later never applies
        key = change_agent * (self.steps + 1) + clipped
        if (
            key.size > 1 and (np.diff(key) < 0).any()
        ):  # changes out of step order: put them in order
            order = np.argsort(key, kind="stable")
            return order[self._scatter(key[order], change_agent[order], clipped[order], starts)]
        return self._scatter(key, change_agent, clipped, starts)

    def _scatter(self, key, change_agent, clipped, starts) -> np.ndarray:
        filled = np.zeros(self.rows, dtype=np.int64)
        inside = clipped < self.steps
        positions = change_agent[inside] * self.steps + clipped[inside]
        changes = np.nonzero(inside)[0]
        # Changes are in key order: of several at one step, the last one holds.
        last = np.ones(positions.size, dtype=bool)
        last[:-1] = positions[1:] != positions[:-1]
        filled[positions[last]] = changes[last]
        np.maximum.accumulate(filled, out=filled)
        # Before an agent's first change (or after a previous agent's): its first value.
        return np.maximum(filled, starts[:-1][self.row_agent])

    def before(self, at: np.ndarray) -> np.ndarray:
        """The record an agent acted from: record t-1 (step-0 rows hold the previous agent's
        last record or their own first; callers replace step 0)."""
        out = np.empty_like(at)
        out[1:] = at[:-1]
        out[:1] = at[:1]
        return out


def _flatten_scalars(
    values: list, field: str, default
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, numbers, starts) of one scalar field across agents; a constant is one change at 0."""
    pairs: list = []
    starts = [0]
    for _agent_id, value in values:
        if value is None:
            pairs.append((0, default))
        elif isinstance(value, list):
            if value:
                pairs.extend(value)
            else:
                pairs.append((0, default))
        else:
            pairs.append((0, value))
        starts.append(len(pairs))
    try:  # flattened first: numpy converts a flat list of numbers twice as fast as nested pairs
        flat = list(chain.from_iterable(pairs))
        if len(flat) != 2 * len(pairs):
            raise ValueError("entries are not [step, value] pairs")
        array = np.array(flat, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        array = _clean_scalars(values, field, default)
    numbers = array[:, 1]
    if np.isnan(numbers).any():  # JSON null
        numbers = np.where(np.isnan(numbers), float(default), numbers)
    return array[:, 0].astype(np.int64), numbers, np.asarray(starts, dtype=np.int64)


_PLACEHOLDERS = (None, [], "", {})


def _clean_scalars(values: list, field: str, default) -> np.ndarray:
    """The slow path: typed placeholders (`[]`, `""`) read as the default; anything else that is
    not a number is a named error."""
    rows = []
    for agent_id, value in values:
        if isinstance(value, list) and value:
            changes = value
        else:
            changes = [(0, default if value is None or value == [] else value)]
        for entry in changes:
            if not (isinstance(entry, list | tuple) and len(entry) == 2):
                raise ReplayError(
                    f"agent {agent_id}: `{field}` entry {entry!r} is not a [step, value] pair"
                )
            step, number = entry
            if number in _PLACEHOLDERS:
                number = default
            if not isinstance(step, int) or not isinstance(number, int | float):
                raise ReplayError(
                    f"agent {agent_id}: `{field}` holds {number!r} at step {step!r}, not a number"
                )
            rows.append((step, number))
    return np.array(rows, dtype=np.float64)


def _scalar_column(grid: _Grid, agents: list, field: str, default, at_before: bool = False):
    """Values of a scalar field at each row (record t, or record t-1 with `at_before`)."""
    fast = _scalars_fast(agents, _json_default(default))
    if fast is None:
        steps, numbers, starts = _flatten_scalars(_decoded(agents), field, default)
    else:
        steps, numbers, starts = fast
    index = grid.index(steps, starts)
    if at_before:
        index = grid.before(index)
    return numbers[index]


def _json_default(value) -> bytes:
    return b"1" if value is True else b"0" if value is False else str(value).encode()


def _point_changes(raws: list, field: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fast = _points_fast(raws)
    return fast if fast is not None else _flatten_pairs(_decoded(raws), field)


def _flatten_pairs(values: list, field: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, (first, second) pairs, starts) of a list-valued field whose value is a pair or a
    point: location `[x, y]` (or `[x, y, layer]`), a version-1 action `[id, param]`.

    A missing value or a typed placeholder (`0`, `[]`) is (-1, -1): not recorded.
    """
    steps: list = []
    points: list = []
    starts = [0]
    for _agent_id, value in values:
        if _is_list_changes(value):
            steps.extend([entry[0] for entry in value])
            points.extend([entry[1] for entry in value])
        else:
            steps.append(0)
            points.append(value)
        starts.append(len(steps))
    try:  # the common case: every point a list of the same length
        flat = list(chain.from_iterable(points))
        width = len(flat) // max(len(points), 1)
        if width < 2 or len(flat) != width * len(points):
            raise ValueError("not points")
        pairs = np.array(flat, dtype=np.int64).reshape(-1, width)[:, :2]
        step_array = np.array(steps, dtype=np.int64)
    except (TypeError, ValueError, OverflowError, IndexError):
        step_array, pairs = _clean_pairs(values, field)
    return step_array, pairs, np.asarray(starts, dtype=np.int64)


def _clean_pairs(values: list, field: str) -> tuple[np.ndarray, np.ndarray]:
    """The slow path of `_flatten_pairs`: placeholders, mixed lengths, named errors."""
    steps: list = []
    pairs: list = []
    for agent_id, value in values:
        changes = value if _is_list_changes(value) else [(0, value)]
        for entry in changes:
            try:
                step, point = entry
                if isinstance(point, list) and len(point) >= 2:
                    pair = (int(point[0]), int(point[1]))
                elif point in (None, 0, [], False):
                    pair = (-1, -1)
                else:
                    raise TypeError(point)
                steps.append(int(step))
            except (TypeError, ValueError) as exc:
                raise ReplayError(
                    f"agent {agent_id}: `{field}` entry {entry!r} is not a [step, [a, b]] change"
                ) from exc
            pairs.append(pair)
    return np.array(steps, dtype=np.int64), np.array(pairs, dtype=np.int64).reshape(-1, 2)


# --- inventories --------------------------------------------------------------------------------


def _inventory_changes(raws: list, item_names: list[str]) -> tuple:
    """Every agent's inventory changes as one MapArray (item name -> count, sorted by item id,
    zero counts dropped), plus each change's step and where each agent's changes start.

    Inventories are maps: pairs come in hash-map order in older files, so they are sorted here.
    """
    fast = _inventory_fast(raws)
    if fast is not None:
        steps, sizes, pairs, starts = fast
        return (*_inventory_maps(steps, sizes, pairs, item_names), steps, starts)
    values = _decoded(raws)
    steps: list = []
    sizes: list = []
    flat: list = []
    starts = [0]
    for agent_id, value in values:
        if not value:
            changes = [(0, [])]
        elif _is_list_changes(value):
            changes = value
        else:
            changes = [(0, value)]
        for entry in changes:
            try:
                step, inventory = entry
            except (TypeError, ValueError) as exc:
                raise ReplayError(
                    f"agent {agent_id}: inventory entry {entry!r} is not a [step, inventory] change"
                ) from exc
            if not isinstance(inventory, list):  # a placeholder (0, false): nothing held
                if inventory not in (0, False, None):
                    raise ReplayError(
                        f"agent {agent_id}: inventory at step {step} is {inventory!r}, not a list of [item_id, count] pairs"
                    )
                inventory = []
            steps.append(step)
            sizes.append(len(inventory))
            flat.extend(inventory)
        starts.append(len(steps))
    return (
        *_inventory_maps(steps, sizes, _pair_array(flat), item_names),
        np.asarray(steps, dtype=np.int64),
        np.asarray(starts, dtype=np.int64),
    )


def _pair_array(flat: list) -> np.ndarray:
    if flat:
        try:
            numbers = list(chain.from_iterable(flat))
            if len(numbers) != 2 * len(flat):
                raise ValueError("not pairs")
            pairs = np.array(numbers, dtype=np.int64).reshape(-1, 2)
        except (TypeError, ValueError, OverflowError) as exc:
            bad = next((p for p in flat if not (isinstance(p, list) and len(p) == 2)), flat[0])
            raise ReplayError(
                f"inventory entry {bad!r} is not an [item_id, count] pair of integers"
            ) from exc
    else:
        pairs = np.zeros((0, 2), dtype=np.int64)
    return pairs


def _inventory_maps(steps, sizes, pairs: np.ndarray, item_names: list[str]) -> tuple:
    """(offsets, items, counts) of the changes' inventories: sorted by item id, zeros dropped."""
    change_count = len(sizes)
    items, counts = pairs[:, 0], pairs[:, 1]
    if items.size and (items.min() < 0 or items.max() >= len(item_names)):
        bad = int(items[(items < 0) | (items >= len(item_names))][0])
        raise ReplayError(
            f"inventory item id {bad} is outside the replay's {len(item_names)} item_names: "
            "the replay is inconsistent (its writer listed fewer item names than it used)"
        )
    change_of_pair = np.repeat(np.arange(change_count, dtype=np.int64), sizes)
    keep = counts != 0
    order = np.lexsort((items, change_of_pair))
    order = order[keep[order]]
    items, counts, change_of_pair = items[order], counts[order], change_of_pair[order]
    if items.size > 1:
        repeated = (np.diff(change_of_pair) == 0) & (np.diff(items) == 0)
        if repeated.any():
            at = int(np.nonzero(repeated)[0][0])
            raise ReplayError(
                f"an inventory lists item {item_names[items[at]]!r} twice at step "
                f"{steps[change_of_pair[at]]}: the replay is inconsistent"
            )
    offsets = np.zeros(change_count + 1, dtype=np.int64)
    np.cumsum(np.bincount(change_of_pair, minlength=change_count), out=offsets[1:])
    return offsets, items, counts


def _row_maps(offsets, items, counts, row_change, null, key_names: list[str]) -> pa.MapArray:
    """One map per row: the entries of the change in force, gathered with numpy (no Arrow
    `take` of a nested array), null where `null`."""
    sizes = np.diff(offsets)[row_change]
    sizes[null] = 0
    row_offsets = np.zeros(len(row_change) + 1, dtype=np.int64)
    np.cumsum(sizes, out=row_offsets[1:])
    element = np.repeat(offsets[:-1][row_change] - row_offsets[:-1], sizes) + np.arange(
        row_offsets[-1]
    )
    return pa.MapArray.from_arrays(
        pa.array(row_offsets.astype(np.int32)),
        pa.array(key_names, pa.string()).take(pa.array(items[element])),
        pa.array(counts[element].astype(np.int32)),
        mask=pa.array(null),
    )


def _agent_configurations(game: dict, agent_ids: list[int], groups: list) -> list:
    """The configuration each agent was built from, as the simulator assigns them, or None where
    the replay cannot tell.

    With no `game.agents` every agent is `game.agent`. Otherwise the simulator groups
    `game.agents` by `team_id` in order of first appearance (the team's index is the agents'
    `group_id`) and gives the k-th agent of a group, by agent_id, the k-th configuration of its
    team: `game.agents[agent_id]` is another agent's configuration as soon as two teams
    interleave. Teams not numbered 0, 1, ... in that order make the simulator's map cell names
    collide (the configuration an agent gets then depends on the map's cell names, not in the
    replay), as does a group with more agents than its team has configurations: None.
    """
    per_agent = game.get("agents") if isinstance(game.get("agents"), list) else []
    default = game.get("agent") if isinstance(game.get("agent"), dict) else {}
    if not per_agent:
        return [default] * len(agent_ids)
    teams: dict = {}
    for agent_config in per_agent:
        team = agent_config.get("team_id", 0) if isinstance(agent_config, dict) else None
        teams.setdefault(team, []).append(agent_config)
    if list(teams) != list(range(len(teams))):
        return [None] * len(agent_ids)
    rank: dict = {}
    out = []
    for group in groups:  # agent_ids are sorted: the k-th agent of a group is its k-th here
        k = rank[group] = rank.get(group, -1) + 1
        team = teams.get(group, [])
        found = team[k] if group is not None and k < len(team) else None
        out.append(found if isinstance(found, dict) else None)
    return out


def _configured_inventories(configs: list, default: dict) -> list:
    """The initial inventory each agent is configured with (name -> count), or None."""

    def initial(agent_config: dict):
        inventory = agent_config.get("inventory")
        if isinstance(inventory, dict) and isinstance(inventory.get("initial"), dict):
            return inventory["initial"]
        if isinstance(agent_config.get("initial_inventory"), dict):  # before late 2025
            return agent_config["initial_inventory"]
        return None

    out = []
    for agent_config in configs:
        found = initial(agent_config) if agent_config is not None else None
        # An older per-agent configuration without the key: the default agent's.
        out.append(found if found is not None or agent_config is None else initial(default))
    return out


def _configured_vibes(configs: list, default: dict, vibe_names: list[str]) -> np.ndarray:
    """Each agent's configured vibe id, -1 when the configuration does not say."""
    out = np.full(len(configs), -1, dtype=np.int64)
    for i, agent_config in enumerate(configs):
        if agent_config is None:
            continue
        vibe = agent_config.get("vibe")
        if vibe is None:
            vibe = default.get("vibe")
        if isinstance(vibe, bool):
            continue
        if isinstance(vibe, int):
            out[i] = vibe
        elif isinstance(vibe, str) and vibe in vibe_names:
            out[i] = vibe_names.index(vibe)
    return out


# --- policies -----------------------------------------------------------------------------------


def _policy_changes(values: list, fallback: str | None) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Version 4 `policy_infos`: a change list of objects with `policy_name` (the policy that
    acted for the agent). Missing, or a placeholder, means the episode's policy."""
    names: list = []
    steps: list = []
    starts = [0]
    for agent_id, raw in values:
        value = None if raw is None else _policy_infos(raw)
        changes = value if isinstance(value, list) and value else [(0, value)]
        for entry in changes:
            if not (isinstance(entry, list | tuple) and len(entry) == 2):
                raise ReplayError(
                    f"agent {agent_id}: policy_infos holds {entry!r}, not an object with policy_name "
                    "(nor a [step, object] change list)"
                )
            step, info = entry
            if isinstance(info, dict):
                name = info.get("policy_name")
                if name is None:
                    name = fallback
                elif not isinstance(name, str):
                    raise ReplayError(
                        f"agent {agent_id}: policy_infos.policy_name at step {step} is {name!r}, not a string"
                    )
            elif info in (None, 0, 0.0, False, "", []):  # no info at that step
                name = fallback
            else:
                raise ReplayError(
                    f"agent {agent_id}: policy_infos at step {step} is a {type(info).__name__} "
                    f"({str(info)[:40]!r}), not an object with policy_name"
                )
            steps.append(step)
            names.append(name)
        starts.append(len(steps))
    return (
        pa.array(names, pa.string()),
        np.asarray(steps, dtype=np.int64),
        np.asarray(starts, dtype=np.int64),
    )


# --- the replay ---------------------------------------------------------------------------------


def _repeat(value, type_: pa.DataType, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, type_), n)


def _masked(values: np.ndarray, type_: pa.DataType, null: np.ndarray | None) -> pa.Array:
    return pa.array(values.astype(type_.to_pandas_dtype(), copy=False), type_, mask=null)


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


# Rows one replay may produce (agents x max_steps; real replays: up to about 300,000). A replay
# declaring more is refused before anything is allocated for it.
MAX_ROWS_PER_REPLAY = 20_000_000
NOT_A_REPLAY = "the file is not a valid mettagrid replay"


def parse_replay(
    data: bytes, episode: Episode, max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES
) -> ParsedReplay:
    """Turn one compressed replay into its rows, sorted by agent then step.

    Whatever is wrong inside one replay ends as a ReplayError with its reason (the replay is
    skipped and counted), never another exception that would fail the whole day."""
    with _gc_paused():
        try:
            return _parse_replay(data, episode, max_decompressed_bytes)
        except ReplayError:
            raise
        except OverflowError as exc:
            raise ReplayError(f"a number is out of range ({exc}): {NOT_A_REPLAY}") from exc
        except RecursionError as exc:
            raise ReplayError(f"nested too deeply to read ({exc}): {NOT_A_REPLAY}") from exc
        except MemoryError as exc:
            raise ReplayError(f"too large to parse in memory: {NOT_A_REPLAY}") from exc
        except (
            TypeError, ValueError, KeyError, IndexError, AttributeError, msgspec.MsgspecError,
            pa.ArrowException,
        ) as exc:  # fmt: skip
            raise ReplayError(
                f"malformed replay ({type(exc).__name__}: {exc}): {NOT_A_REPLAY}"
            ) from exc


def _required(replay: _Replay, key: str, version: int):
    value = getattr(replay, key)
    if value is msgspec.UNSET:
        raise ReplayError(
            f"missing required key {key!r}: a version-{version} replay must have it; the file is "
            "incomplete or not a mettagrid replay"
        )
    return value


def _parse_replay(data: bytes, episode: Episode, max_decompressed_bytes: int) -> ParsedReplay:
    replay = decode(data, max_decompressed_bytes)
    if replay.version is msgspec.UNSET:
        raise ReplayError("missing required key 'version': this is not a mettagrid replay")
    version = replay.version
    if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
        raise ReplayError(
            f"unsupported replay format version {version!r} (this parser reads versions "
            f"{', '.join(map(str, SUPPORTED_VERSIONS))}): teach assets/replay_mining/mettagrid.py "
            "the new format, then re-run parsed_replays for this day"
        )
    _required(replay, "grid_objects" if version == 1 else "objects", version)
    try:
        max_steps = int(_required(replay, "max_steps", version))
        num_agents = int(_required(replay, "num_agents", version))
        action_names = [str(n) for n in _required(replay, "action_names", version)]
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"malformed top-level field: {exc}") from exc
    if max_steps <= 0:
        raise ReplayError(f"max_steps is {max_steps}: the replay recorded no steps")
    map_size = replay.map_size
    if not (isinstance(map_size, list) and len(map_size) >= 2):
        map_size = [None, None]

    try:
        agents = _agents_of(replay, version)
    except msgspec.DecodeError as exc:
        raise ReplayError(f"an agent's field is not valid JSON: {exc}") from exc
    if not agents:
        raise ReplayError("the replay has no agents")
    try:
        for agent in agents:  # an agent that joined late has `[[0, 0], [k, agent_id]]`
            if isinstance(agent["agent_id"], list):
                agent["agent_id"] = agent["agent_id"][-1][1]
        agents.sort(key=lambda o: int(o["agent_id"]))
        agent_ids = [int(o["agent_id"]) for o in agents]
    except (TypeError, ValueError, IndexError) as exc:
        raise ReplayError(f"an agent_id is not an integer: {exc}") from exc
    if len(set(agent_ids)) != len(agent_ids):
        raise ReplayError("two agent objects share an agent_id")
    if not all(0 <= i < 2**31 for i in agent_ids):
        raise ReplayError(f"an agent_id is outside 0..2^31-1: {NOT_A_REPLAY}")
    if max_steps * len(agents) > MAX_ROWS_PER_REPLAY:
        raise ReplayError(
            f"{len(agents)} agents x max_steps {max_steps} would be {max_steps * len(agents):,} "
            f"rows, more than the {MAX_ROWS_PER_REPLAY:,} one replay may have: {NOT_A_REPLAY}"
        )

    grid = _Grid(len(agents), max_steps)
    # Rows where the agent was in the game both before and after acting (v4 `alive`; earlier
    # versions have every agent for the whole episode).
    alive_record = _scalar_column(grid, _field(agents, "alive"), "alive", True) != 0
    alive = alive_record & grid.before(alive_record)
    alive[grid.first_step] = alive_record[grid.first_step]
    absent = ~alive
    columns = (_columns_v1 if version == 1 else _columns_v2_to_v4)(
        replay, agents, agent_ids, grid, episode.policy, absent
    )

    action_ids = columns["action_id"]
    used = action_ids[alive]
    if used.size and (used.min() < 0 or used.max() >= len(action_names)):
        bad = int(used.max() if used.max() >= len(action_names) else used.min())
        raise ReplayError(
            f"action id {bad} is outside the replay's {len(action_names)} action_names: the "
            "replay is inconsistent"
        )
    action_ids = np.where(alive, action_ids, 0)
    names = pa.array(action_names, pa.string()).take(pa.array(action_ids, mask=absent))

    # State columns: record t-1; at step 0 what the configuration says, else null.
    state_null = absent | grid.first_step
    config_null = absent | (grid.first_step & ~columns["configured"][grid.row_agent])
    source = np.where(
        absent,
        3,
        np.where(grid.first_step, np.where(columns["configured"][grid.row_agent], 1, 2), 0),
    )
    n = grid.rows
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
            pa.array(np.asarray(agent_ids, dtype=np.int32)[grid.row_agent]),
            pa.array(columns["group_id"].astype(np.int32)),
            pa.array(grid.step),
            _masked(columns["x"], pa.int32(), state_null | (columns["x"] < 0)),
            _masked(columns["y"], pa.int32(), state_null | (columns["y"] < 0)),
            _masked(columns["orientation"], pa.int32(), state_null),
            columns["inventory"],
            _masked(action_ids, pa.int32(), absent),
            names,
            _masked(columns["action_param"], pa.int32(), absent),
            _masked(columns["action_success"] != 0, pa.bool_(), absent),
            _masked(columns["reward"], pa.float32(), absent),
            _masked(columns["total_reward"], pa.float32(), absent),
            pa.array(alive),
            columns["agent_policy"],
            _masked(columns["vibe_id"], pa.int32(), config_null | (columns["vibe_id"] < 0)),
            columns["vibe_name"],
            STATE_SOURCES.take(pa.array(source.astype(np.int8))),
        ],
        schema=DATASET_SCHEMA,
    )
    return ParsedReplay(
        table=table, action_names=action_names, max_steps=max_steps, version=version
    )


def _field(agents: list, key: str, *aliases: str) -> list:
    """(agent_id, value) of one key for every agent; None where the agent lacks it."""
    out = []
    for agent in agents:
        value = agent.get(key)
        for alias in aliases:
            if value is not None:
                break
            value = agent.get(alias)
        out.append((agent["agent_id"], value))
    return out


def _require_agent_key(agents: list, key: str, version: int) -> None:
    for agent in agents:
        if key not in agent:
            raise ReplayError(
                f"agent {agent['agent_id']} has no {key!r}: a version-{version} agent must have it; "
                "the replay is incomplete"
            )


def _columns_v2_to_v4(
    replay: _Replay,
    agents: list,
    agent_ids: list[int],
    grid: _Grid,
    episode_policy: str | None,
    absent: np.ndarray,
) -> dict:
    version = replay.version
    _require_agent_key(agents, "action_id", version)
    item_names = [str(n) for n in replay.item_names or []]
    config = replay.mg_config if isinstance(replay.mg_config, dict) else {}
    game = config.get("game") if isinstance(config.get("game"), dict) else {}
    vibe_names = [str(v) for v in game.get("vibe_names") or []]

    step_idx, pairs, starts = _point_changes(_field(agents, "location"), "location")
    at = grid.before(grid.index(step_idx, starts))
    x, y = pairs[at, 0], pairs[at, 1]

    # Inventories: the recorded changes, then one configured inventory per agent for step 0.
    offsets, items, counts, inv_steps, inv_starts = _inventory_changes(
        _field(agents, "inventory"), item_names
    )
    inventory_at = grid.before(grid.index(inv_steps, inv_starts))
    group_id = _scalar_column(grid, _field(agents, "group_id"), "group_id", 0)
    # Each agent's group as first recorded while it is in the game (a late joiner's step-0 value
    # is a placeholder), which decides its configuration.
    present = ~absent.reshape(grid.agents, grid.steps)
    first_present = present.argmax(axis=1)
    groups = [
        int(group_id[a * grid.steps + first_present[a]]) if present[a].any() else None
        for a in range(grid.agents)
    ]
    default_agent = game.get("agent") if isinstance(game.get("agent"), dict) else {}
    agent_configs = _agent_configurations(game, agent_ids, groups)
    configured = _configured_inventories(agent_configs, default_agent)
    has_config = np.array([c is not None for c in configured])
    key_names = list(item_names)
    position = {name: i for i, name in enumerate(item_names)}
    extra_items, extra_counts, extra_sizes = [], [], []
    for inventory in configured:
        pairs = sorted(
            (position.setdefault(str(k), len(position)), int(v))
            for k, v in (inventory or {}).items()
            if v
        )
        extra_items += [i for i, _ in pairs]
        extra_counts += [c for _, c in pairs]
        extra_sizes.append(len(pairs))
    key_names += [n for n in position if n not in set(item_names)]
    items = np.concatenate([items, np.asarray(extra_items, dtype=np.int64)])
    counts = np.concatenate([counts, np.asarray(extra_counts, dtype=np.int64)])
    offsets = np.concatenate([offsets, offsets[-1] + np.cumsum(extra_sizes, dtype=np.int64)])
    inventory_at[grid.first_step] = len(offsets) - 1 - grid.agents + np.arange(grid.agents)
    no_inventory = absent | (grid.first_step & ~has_config[grid.row_agent])
    inventory = _row_maps(offsets, items, counts, inventory_at, no_inventory, key_names)

    vibe_id = _scalar_column(grid, _field(agents, "vibe_id", "vibe"), "vibe_id", -1, at_before=True)
    configured_vibes = _configured_vibes(agent_configs, default_agent, vibe_names)
    vibe_id[grid.first_step] = configured_vibes
    vibe_int = vibe_id.astype(np.int64)
    has_config |= configured_vibes >= 0
    known = (vibe_int >= 0) & (vibe_int < len(vibe_names))
    vibe_name = pa.array(vibe_names + [None], pa.string()).take(
        pa.array(np.where(known, vibe_int, len(vibe_names)), mask=absent)
    )

    policies, policy_steps, policy_starts = _policy_changes(
        _field(agents, "policy_infos"), episode_policy
    )
    return {
        "group_id": group_id,
        "x": x,
        "y": y,
        "orientation": _scalar_column(grid, _field(agents, "orientation"), "orientation", 0, True),
        "inventory": inventory,
        "configured": has_config,
        "action_id": _scalar_column(grid, _field(agents, "action_id"), "action_id", 0).astype(
            np.int64
        ),
        "action_param": _scalar_column(
            grid, _field(agents, "action_param", "action_parameter"), "action_param", 0
        ),
        "action_success": _scalar_column(
            grid, _field(agents, "action_success"), "action_success", False
        ),
        "reward": _scalar_column(grid, _field(agents, "current_reward"), "current_reward", 0.0),
        "total_reward": _scalar_column(grid, _field(agents, "total_reward"), "total_reward", 0.0),
        "agent_policy": policies.take(
            pa.array(grid.index(policy_steps, policy_starts), mask=absent)
        ),
        "vibe_id": vibe_int,
        "vibe_name": vibe_name,
    }


def _columns_v1(
    replay: _Replay,
    agents: list,
    agent_ids: list[int],
    grid: _Grid,
    episode_policy: str | None,
    absent: np.ndarray,
) -> dict:
    """Version 1: `r`/`c` positions, `agent:orientation`, one `inv:<item>` (or `agent:inv:<item>`)
    field per item, `action` as [id, param] changes; no vibes, no configuration."""
    _require_agent_key(agents, "action", 1)
    step_idx, pairs, starts = _point_changes(_field(agents, "action"), "action")
    action_at = grid.index(step_idx, starts)

    items: list[str] = []
    for agent in agents:
        for key in agent:
            if key.startswith(("inv:", "agent:inv:")):
                name = key.split("inv:", 1)[1]
                if name not in items:
                    items.append(name)
    counts = np.zeros((grid.rows, len(items)), dtype=np.int64)
    for i, name in enumerate(items):
        values = [
            (a["agent_id"], a.get(f"agent:inv:{name}", a.get(f"inv:{name}", 0))) for a in agents
        ]
        counts[:, i] = _scalar_column(grid, values, f"inv:{name}", 0, at_before=True)
    present = counts != 0  # an item with count 0 is not in the inventory
    present[absent | grid.first_step] = False  # null rows hold no entries (parquet needs that)
    offsets = np.zeros(grid.rows + 1, dtype=np.int32)
    np.cumsum(present.sum(axis=1), out=offsets[1:])
    item_index = np.nonzero(present)[1]
    inventory = pa.MapArray.from_arrays(
        pa.array(offsets),
        pa.array(items, pa.string()).take(pa.array(item_index)),
        pa.array(counts[present].astype(np.int32)),
        mask=pa.array(absent | grid.first_step),  # version 1 configures no inventory
    )
    nothing = np.zeros(grid.agents, dtype=bool)
    return {
        "group_id": _scalar_column(grid, _field(agents, "agent:group"), "agent:group", 0),
        "x": _scalar_column(grid, _field(agents, "c"), "c", 0, at_before=True),
        "y": _scalar_column(grid, _field(agents, "r"), "r", 0, at_before=True),
        "orientation": _scalar_column(
            grid, _field(agents, "agent:orientation"), "agent:orientation", 0, True
        ),
        "inventory": inventory,
        "configured": nothing,
        "action_id": pairs[action_at, 0],
        "action_param": pairs[action_at, 1],
        "action_success": _scalar_column(
            grid, _field(agents, "action_success"), "action_success", False
        ),
        "reward": _scalar_column(grid, _field(agents, "reward"), "reward", 0.0),
        "total_reward": _scalar_column(grid, _field(agents, "total_reward"), "total_reward", 0.0),
        "agent_policy": pa.array([episode_policy], pa.string()).take(
            pa.array(np.zeros(grid.rows, dtype=np.int32), mask=absent)
        ),
        "vibe_id": np.full(grid.rows, -1, dtype=np.int64),
        "vibe_name": pa.nulls(grid.rows, pa.string()),
    }
