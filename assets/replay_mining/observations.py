"""Rebuild what each agent observed from a replay's recorded object states: the simulator's own
token encoding, one observation per (agent, step), before the agent chose that step's action.

Plain functions, no Dagster. The encoding is mettagrid 0.26's (checked token by token against
`Simulation._c_sim.observations()` in tests/replay_mining/test_agent_observations.py):

- an observation is up to `num_tokens` tokens of 3 bytes, (location, feature id, value); the
  location packs the cell in the agent's egocentric window as `row << 4 | col`, `0xFE` for a
  global token;
- global tokens first: `episode_completion_pct` (256·t / max_steps), `last_action` (the action
  the simulator executed at t−1), `last_reward` (0: the simulator writes it before it computes
  the step's rewards, which come from game values), each when configured;
- then the cells of the window in order of Manhattan distance (for each distance d, rows from −d
  to +d, and in a row the left cell before the right), inside the window's disc
  (dr² + dc² ≤ r², plus the cells next to the four tips when r ≥ 2), on the map;
- the object on a cell gives its tags (ascending ids), its vibe when not 0, its inventory by item
  id (`inv:<item>` = count mod 256, then `inv:<item>:p1` = count / 256 when it is 256 or more),
  and for an agent `agent:group` and `agent_id`.

Record t is the state after action t (see mettagrid.py), so the observation before action t is
built from record t−1. Nothing is recorded before action 0: step 0 has no observation. What a
replay does not record is left out and named per feature (`NOT_REBUILT`), never guessed.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

import msgspec
import numpy as np
import pyarrow as pa

from assets.replay_mining.mettagrid import (
    MAX_DECOMPRESSED_BYTES,
    ReplayError,
    _agent_configurations,
    _decoded,
    _gc_paused,
    _Grid,
    _inventory_changes,
    _is_list_changes,
    _point_changes,
    _scalar_column,
    decompress,
)

# `observation` holds a row's tokens as bytes, 3 per token, as the simulator's buffer holds them
# (without its 0xFF padding): `np.frombuffer(value, np.uint8).reshape(-1, 3)`. One binary value
# per row writes and reads at memory speed; a nested list of bytes took parquet 5x longer.
OBSERVATION_SCHEMA = pa.schema(
    [
        pa.field("episode_id", pa.string(), nullable=False),
        pa.field("agent_id", pa.int32(), nullable=False),
        pa.field("step", pa.int32(), nullable=False),
        pa.field("observation", pa.binary()),
        pa.field("action_id", pa.int32()),
        pa.field("action_name", pa.string()),
        pa.field("reward", pa.float32()),
        pa.field("obs_source", pa.string(), nullable=False),
        pa.field("obs_width", pa.int16()),
        pa.field("obs_height", pa.int16()),
        pa.field("obs_features", pa.string()),
    ]
)
REBUILT, UNRECORDED, ABSENT = "rebuilt", "unrecorded", "absent"
SOURCES = pa.array([REBUILT, UNRECORDED, ABSENT], pa.string())
GLOBAL_LOCATION = 0xFE
BLOCK_ROWS = 4096  # (agent, step) rows gathered at once: bounds the (rows, window) arrays
# A token as its 3 bytes: the location, then (feature id, value) as one little-endian pair, so
# a token list's tokens are gathered as one 2-byte value each (numpy gathers (n, 2) bytes 10x
# slower).
_PAIR = np.dtype("<u2")
_TOKEN = np.dtype([("location", "u1"), ("pair", _PAIR)])

# Features a replay cannot give back, and why (docs/replay_mining.md lists them per version).
NOT_REBUILT = {
    "last_action_move": "needs the location before action 0 at step 1; off by default",
    "goal": "goal tokens come from reward configuration the replay does not resolve",
    "lp:east/west/north/south": "needs the spawn location: the state before action 0 is not recorded",
    "aoe_mask, territory": "territory influence is not in the replay",
    "global obs values (obs.global_obs.obs)": "game values (stats, queries) are not in the replay",
    "protocol_input:*, protocol_output:*": "a building's protocols are not in the replay",
}


class ObservationsUnavailable(ReplayError):
    """The replay cannot give its agents' observations; the message says why."""


_NOT_GIVEN = msgspec.Raw(b"")
OBJECT_KEYS = (
    "type_name", "location", "alive", "inventory", "tag_ids", "agent_id", "group_id",
    "vibe_id", "vibe", "action_id", "current_reward",
)  # fmt: skip
_Object = msgspec.defstruct(
    "_ObsObject", [(k, msgspec.Raw, _NOT_GIVEN) for k in OBJECT_KEYS], forbid_unknown_fields=False
)


class _ObsReplay(msgspec.Struct):
    version: object = None
    max_steps: object = None
    item_names: object = None
    action_names: object = None
    mg_config: object = None
    policy_env_interface: object = None
    objects: list[msgspec.Raw] = []


class _Still(msgspec.Struct, forbid_unknown_fields=False):
    """An object none of whose observed fields changes (a wall, an untouched building): typed,
    so a change list anywhere (or an agent_id) fails to decode and the object is read as one
    that changes."""

    location: list[int]
    type_name: str = ""
    alive: bool = True
    inventory: list[tuple[int, int]] = []
    tag_ids: list[int] = []
    agent_id: None = None


_DECODER = msgspec.json.Decoder(_ObsReplay)
_STILL = msgspec.json.Decoder(_Still)
_CHANGING = msgspec.json.Decoder(_Object)
_ANY = msgspec.json.Decoder()


@dataclass
class EpisodeObservations:
    table: pa.Table
    # feature name -> reason, for the features this episode's configuration turns on but the
    # replay cannot give back
    not_rebuilt: dict[str, str] = field(default_factory=dict)


@functools.cache
def observation_offsets(height: int, width: int) -> np.ndarray:
    """The window's cells in the simulator's order: (row offset, column offset) pairs (read
    only: one array per window size)."""
    rr, cr = height // 2, width // 2
    out = []
    for d in range(rr + cr + 1):
        for dr in range(-d, d + 1):
            dc = d - abs(dr)
            for c in (-dc, dc) if dc else (0,):
                if abs(dr) <= rr and abs(c) <= cr and _in_shape(dr, c, rr, cr):
                    out.append((dr, c))
    offsets = np.array(out, dtype=np.int64).reshape(-1, 2)
    offsets.flags.writeable = False
    return offsets


def _in_shape(dr: int, dc: int, rr: int, cr: int) -> bool:
    """Inside the window's disc (an ellipse when it is not square)."""
    if rr == 0 or cr == 0:
        return abs(dr) <= rr and abs(dc) <= cr
    if rr == cr:
        dist = dr * dr + dc * dc
        tip = rr >= 2 and dist == rr * rr + 1 and (abs(dr) == rr or abs(dc) == cr)
        return dist <= rr * rr or tip
    return dr * dr * cr * cr + dc * dc * rr * rr <= rr * rr * cr * cr


def rebuild_observations(
    data: bytes, episode_id: str, max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES
) -> EpisodeObservations:
    """The observations of every agent at every step of one compressed replay."""
    try:
        with _gc_paused():  # millions of short-lived objects, no cycles: as the parser does
            replay = _DECODER.decode(decompress(data, max_decompressed_bytes))
            return _Rebuild(replay, episode_id).run()
    except ReplayError:
        raise
    except (
        TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
        RecursionError, MemoryError, msgspec.MsgspecError, pa.ArrowException,
    ) as exc:  # fmt: skip
        raise ReplayError(
            f"malformed replay ({type(exc).__name__}: {exc}): the file is not a valid mettagrid "
            "replay"
        ) from exc


class _Rebuild:
    def __init__(self, replay: _ObsReplay, episode_id: str):
        self.episode_id = episode_id
        interface = replay.policy_env_interface
        config = replay.mg_config if isinstance(replay.mg_config, dict) else {}
        game = config.get("game") if isinstance(config.get("game"), dict) else {}
        obs = game.get("obs") if isinstance(game.get("obs"), dict) else None
        if replay.version != 4 or not isinstance(interface, dict) or obs is None:
            raise ObservationsUnavailable(
                f"a version-{replay.version} replay without policy_env_interface.obs_features "
                "and mg_config.game.obs (both since version 4): the observation encoding is "
                "not in the file"
            )
        self.features_json = json.dumps(interface.get("obs_features") or [], sort_keys=True)
        self.feature = {f["name"]: int(f["id"]) for f in interface.get("obs_features") or []}
        self.width, self.height = int(obs.get("width", 11)), int(obs.get("height", 11))
        self.num_tokens = int(obs.get("num_tokens", 200))
        self.base = int(obs.get("token_value_base", 256))
        self.global_obs = obs.get("global_obs") if isinstance(obs.get("global_obs"), dict) else {}
        self.game_max_steps = int(game.get("max_steps") or 0)
        self.steps = int(replay.max_steps or 0)
        self.item_names = [str(n) for n in replay.item_names or []]
        self.action_names = [str(n) for n in replay.action_names or []]
        self.game = game
        objects_config = game.get("objects") if isinstance(game.get("objects"), dict) else {}
        self.type_initial = {
            str(c.get("name", k)): _initial_items(c, self.item_names)
            for k, c in objects_config.items()
            if isinstance(c, dict)
        }
        self.type_vibe = {
            str(c.get("name", k)): int(c.get("vibe") or 0)
            for k, c in objects_config.items()
            if isinstance(c, dict)
        }
        blocking = [
            str(c.get("name", k))
            for k, c in objects_config.items()
            if isinstance(c, dict) and c.get("blocks_vision")
        ]
        if blocking or obs.get("observation_radius_value") is not None:
            raise ObservationsUnavailable(
                "objects that block vision or a per-agent observation radius: which cells an "
                f"agent saw depends on rules this rebuild does not follow ({blocking or 'radius'})"
            )
        self.not_rebuilt = self._not_rebuilt(obs, objects_config)
        self.objects = replay.objects
        if self.steps <= 0:
            raise ReplayError("max_steps is 0: the replay recorded no steps")

    def _not_rebuilt(self, obs: dict, objects_config: dict) -> dict[str, str]:
        out = {}
        g = self.global_obs
        if g.get("last_action_move"):
            out["last_action_move"] = NOT_REBUILT["last_action_move"]
        if g.get("goal_obs"):
            out["goal"] = NOT_REBUILT["goal"]
        if g.get("local_position"):
            out["lp:east/west/north/south"] = NOT_REBUILT["lp:east/west/north/south"]
        if g.get("obs"):
            out["global obs values (obs.global_obs.obs)"] = NOT_REBUILT[
                "global obs values (obs.global_obs.obs)"
            ]
        if obs.get("aoe_mask") or obs.get("territory"):
            out["aoe_mask, territory"] = NOT_REBUILT["aoe_mask, territory"]
        if any(isinstance(c, dict) and c.get("protocols") for c in objects_config.values()):
            out["protocol_input:*, protocol_output:*"] = NOT_REBUILT[
                "protocol_input:*, protocol_output:*"
            ]
        return out

    # --- objects -----------------------------------------------------------------------------

    def run(self) -> EpisodeObservations:
        agents, dynamic, static = [], [], []
        for raw in self.objects:
            try:
                static.append(_STILL.decode(raw))
                continue
            except msgspec.ValidationError:
                obj = _CHANGING.decode(raw)
            raws = {k: bytes(v) for k in OBJECT_KEYS if (v := getattr(obj, k))}
            if "agent_id" in raws:
                raws["agent_id"] = _ANY.decode(raws["agent_id"])
                if isinstance(raws["agent_id"], list):  # joined late: [[0, 0], [k, id]]
                    raws["agent_id"] = raws["agent_id"][-1][1]
                agents.append(raws)
            else:
                dynamic.append(raws)
        if not agents:
            raise ReplayError("the replay has no agents")
        agents.sort(key=lambda o: int(o["agent_id"]))
        self.n_agents = len(agents)
        segments = _Segments(self)
        self._static_cells(static, segments)
        movers = self._movers(agents, dynamic, segments)
        return self._observe(movers, segments.tokens())

    def _static_cells(self, static: list, segments: _Segments) -> None:
        """The objects that never change: one token list for each kind (the thousands of walls
        of a map share one), and where each one is."""
        kinds: dict[tuple, int] = {}
        placed = []
        for obj in static:
            if not obj.alive or len(obj.location) < 2:
                continue
            key = (obj.type_name, tuple(obj.inventory), tuple(obj.tag_ids))
            kind = kinds.get(key)
            if kind is None:
                kind = kinds[key] = len(kinds)
                segments.add_static(
                    tags=obj.tag_ids,
                    vibe=self.type_vibe.get(obj.type_name, 0),
                    inventory=obj.inventory,
                    initial=self.type_initial.get(obj.type_name, []),
                )
            placed.append((kind, obj.location[0], obj.location[1]))
        table = np.array(placed, dtype=np.int64).reshape(-1, 3)
        self._static_kind, xs, ys = table[:, 0], table[:, 1], table[:, 2]
        self._static_xy = (xs, ys)
        self.map_w = int(xs.max(initial=0)) + 1
        self.map_h = int(ys.max(initial=0)) + 1

    def _movers(self, agents: list, dynamic: list, segments: _Segments) -> dict:
        """Per (object, record) arrays of every object that moves or changes: agents first."""
        objects = agents + dynamic
        n = len(objects)
        grid = _Grid(n, self.steps)
        labelled = [
            dict(o, agent_id=o.get("agent_id", f"object {i}")) for i, o in enumerate(objects)
        ]

        def field(key: str, *aliases: str) -> list:
            out = []
            for obj in labelled:
                raw = obj.get(key)
                for alias in aliases:
                    raw = raw if raw is not None else obj.get(alias)
                out.append((obj["agent_id"], raw))
            return out

        step_idx, pairs, starts = _point_changes(field("location"), "location")
        at = grid.index(step_idx, starts)
        x, y = pairs[at, 0], pairs[at, 1]
        alive = _scalar_column(grid, field("alive"), "alive", True) != 0
        alive &= (x >= 0) & (y >= 0)
        inv_offsets, inv_items, inv_counts, inv_steps, inv_starts = _inventory_changes(
            field("inventory"), self.item_names
        )
        inv_at = grid.index(inv_steps, inv_starts)
        is_agent = np.zeros(n, dtype=bool)
        is_agent[: self.n_agents] = True
        vibe = _scalar_column(grid, field("vibe_id", "vibe"), "vibe_id", 0).astype(np.int64)
        type_vibe = np.array(
            [self.type_vibe.get(_type_name(o), 0) for o in objects], dtype=np.int64
        )
        vibe = np.where(is_agent[grid.row_agent], vibe, type_vibe[grid.row_agent])
        group = _scalar_column(grid, field("group_id"), "group_id", 0).astype(np.int64)
        tag_values, tag_steps, tag_starts = _list_changes(_decoded(field("tag_ids")))
        tag_at = grid.index(tag_steps, tag_starts)
        agent_ids = np.zeros(n, dtype=np.int64)
        agent_ids[: self.n_agents] = [int(o["agent_id"]) for o in agents]

        # A new token list wherever anything it is made of changes, per object.
        present = alive.reshape(n, self.steps)
        first = present.argmax(axis=1)
        groups = [
            int(group[i * self.steps + first[i]]) if present[i].any() else None
            for i in range(self.n_agents)
        ]
        configs = _agent_configurations(self.game, [int(o["agent_id"]) for o in agents], groups)
        initial = [_initial_items(c, self.item_names) if c else [] for c in configs] + [
            self.type_initial.get(_type_name(o), []) for o in dynamic
        ]
        inv_rank, self.ambiguous_orders = _inventory_ranks(
            inv_offsets, inv_items, inv_starts, initial
        )
        key = np.stack([inv_at, tag_at, vibe, group], axis=1)
        new = np.ones(grid.rows, dtype=bool)
        new[1:] = (key[1:] != key[:-1]).any(axis=1)
        new[grid.first_step] = True
        first_rows = np.flatnonzero(new)
        segment = np.cumsum(new) - 1
        base = segments.add_dynamic(
            tag_values=tag_values,
            tag_at=tag_at[first_rows],
            vibe=vibe[first_rows],
            inv=(inv_offsets, inv_items, inv_counts, inv_rank),
            inv_at=inv_at[first_rows],
            is_agent=is_agent[grid.row_agent[first_rows]],
            group=group[first_rows],
            agent_id=agent_ids[grid.row_agent[first_rows]],
        )
        reward_raw = [(a["agent_id"], a.get("current_reward")) for a in agents]
        action_raw = [(a["agent_id"], a.get("action_id")) for a in agents]
        agent_grid = _Grid(self.n_agents, self.steps)
        self.map_w = max(self.map_w, int(x.max(initial=0)) + 1)
        self.map_h = max(self.map_h, int(y.max(initial=0)) + 1)
        return {
            "n": n,
            "x": x.reshape(n, self.steps).astype(np.int32),
            "y": y.reshape(n, self.steps).astype(np.int32),
            "alive": alive.reshape(n, self.steps),
            "list": (segment + base).reshape(n, self.steps).astype(np.int32),
            "agent_ids": agent_ids[: self.n_agents],
            "action": _scalar_column(agent_grid, action_raw, "action_id", 0)
            .astype(np.int64)
            .reshape(self.n_agents, self.steps),
            "reward": _scalar_column(agent_grid, reward_raw, "current_reward", 0.0).reshape(
                self.n_agents, self.steps
            ),
        }

    # --- the windows -------------------------------------------------------------------------

    def _globals(self, step: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The global tokens of rows before the actions at `step`: (feature ids, values of
        shape (rows, features)); `action` is each row's agent's executed action of the step
        before."""
        features, values = [], []
        g, f = self.global_obs, self.feature
        if g.get("episode_completion_pct", True) and "episode_completion_pct" in f:
            pct = np.zeros(len(step), np.int64)
            if self.game_max_steps > 0:
                pct = np.where(step >= self.game_max_steps, 255, 256 * step // self.game_max_steps)
            features.append(f["episode_completion_pct"])
            values.append(pct)
        if g.get("last_action", True) and "last_action" in f:
            features.append(f["last_action"])
            values.append(action)
        if g.get("last_reward", True) and "last_reward" in f:
            # Written before the step's rewards are computed: 0 for rewards from game values,
            # which is every reward of a 0.26 configuration (the replay's reward is the
            # `reward` column).
            features.append(f["last_reward"])
            values.append(np.zeros(len(step), np.int64))
        stacked = np.stack(values, axis=1) if values else np.zeros((len(step), 0), np.int64)
        return np.array(features, np.int64), stacked

    def _observe(self, movers: dict, tokens: tuple) -> EpisodeObservations:
        """Every observed row's tokens, BLOCK_ROWS rows at a time in the dataset's order (agent,
        then step). A row's cells are looked up on the grid of the objects that never change
        (built once), then the objects that move or change are laid over the cells where one
        is in the window: a few pairs (row, object), not a grid a step."""
        tok_off, tok_feat, tok_val = tokens
        n_obj_tokens = int(tok_off[-1])
        a_n, steps = self.n_agents, self.steps
        pad_r, pad_c = self.height // 2, self.width // 2
        wp = self.map_w + 2 * pad_c
        static = np.full((self.map_h + 2 * pad_r) * wp, -1, dtype=np.int32)
        sx, sy = self._static_xy
        static[(sy + pad_r) * wp + sx + pad_c] = self._static_kind
        offsets = observation_offsets(self.height, self.width)
        # A row's cells: its global tokens first (a token list of its own), then the window's.
        window = np.concatenate([[0], offsets[:, 0] * wp + offsets[:, 1]]).astype(np.int32)
        loc = np.concatenate(
            [[GLOBAL_LOCATION], (offsets[:, 0] + pad_r) << 4 | (offsets[:, 1] + pad_c)]
        ).astype(np.uint8)
        cells_n = len(window)
        # The cell of the window at each (row offset, column offset); -1 outside its disc.
        cell_at = np.full((2 * pad_r + 1, 2 * pad_c + 1), -1, dtype=np.int64)
        cell_at[offsets[:, 0] + pad_r, offsets[:, 1] + pad_c] = np.arange(1, cells_n)
        # Token lists as (feature, value) byte pairs, the rows' global tokens after them.
        n_glob = len(self._globals(np.zeros(0, np.int64), np.zeros(0, np.int64))[0])
        pairs = np.empty(n_obj_tokens + BLOCK_ROWS * n_glob, dtype=_PAIR)
        pairs[:n_obj_tokens] = (tok_feat & 0xFF) | (tok_val & 0xFF) << 8
        alive = movers["alive"]
        # Row (agent, t) has an observation when the agent was in the game at t-1 and t.
        observed = np.zeros((a_n, steps), dtype=bool)
        observed[:, 1:] = alive[:a_n, :-1] & alive[:a_n, 1:]
        # The moving objects' state record by record (agents first: agent a is object a).
        mx, my = movers["x"].T.copy(), movers["y"].T.copy()
        m_alive, m_list = alive.T.copy(), movers["list"].T.copy()
        action = movers["action"]
        row_counts = np.zeros(a_n * steps, dtype=np.int64)
        chunks = []
        rows_all = np.flatnonzero(observed)
        for b0 in range(0, len(rows_all), BLOCK_ROWS):
            rows = rows_all[b0 : b0 + BLOCK_ROWS]
            r_n = len(rows)
            agent, step = np.divmod(rows, steps)
            rec = step - 1  # the record each row acts from
            ax, ay = mx[rec, agent], my[rec, agent]
            centre = (ay + pad_r) * wp + (ax + pad_c)
            cells = np.take(static, centre[:, None] + window[None, :])
            glob_feat, glob_val = self._globals(step, action[agent, rec])
            cells[:, 0] = len(tok_off) - 1 + np.arange(r_n)
            pairs[n_obj_tokens : n_obj_tokens + r_n * n_glob] = (
                (glob_feat & 0xFF) | (glob_val & 0xFF) << 8
            ).reshape(-1)
            # The objects that move or change, where one is in the window: painted over the
            # cells in object order (of two on one cell, the later one is seen, as before).
            dx = mx[rec] - ax[:, None]
            dy = my[rec] - ay[:, None]
            near = m_alive[rec] & (np.abs(dx) <= pad_c) & (np.abs(dy) <= pad_r)
            row, obj = np.nonzero(near)
            cell = cell_at[dy[row, obj] + pad_r, dx[row, obj] + pad_c]
            seen = cell >= 0
            row, obj = row[seen], obj[seen]
            cells[row, cell[seen]] = m_list[rec[row], obj]
            # Every occupied cell in row order, each one's token list expanded in place.
            flat = cells.ravel()
            at = np.flatnonzero(flat >= 0)
            lists = flat[at]
            list_start = np.concatenate([tok_off[:-1], n_obj_tokens + np.arange(r_n) * n_glob])
            list_size = np.concatenate([np.diff(tok_off), np.full(r_n, n_glob)])
            counts = list_size[lists]
            ends = np.cumsum(counts)
            total = int(ends[-1])
            src = np.repeat(list_start[lists] - (ends - counts), counts) + np.arange(total)
            out = np.empty(total, dtype=_TOKEN)
            out["location"] = np.repeat(loc[at % cells_n], counts)
            out["pair"] = np.take(pairs, src)
            # Each row's tokens: up to its last occupied cell (its global cell always is).
            last = np.searchsorted(at, np.arange(1, r_n + 1) * cells_n) - 1
            row_total = np.diff(ends[last], prepend=0)
            if (row_total > self.num_tokens).any():  # the simulator keeps the first ones
                row_start = ends[last] - row_total
                out = out[np.arange(total) - np.repeat(row_start, row_total) < self.num_tokens]
            row_counts[rows] = np.minimum(row_total, self.num_tokens)
            chunks.append(out)
        return EpisodeObservations(
            table=self._table(chunks, row_counts, observed, movers),
            not_rebuilt=self.not_rebuilt,
        )

    def _table(self, chunks, row_counts, observed, movers) -> pa.Table:
        """The rows in the dataset's order (agent, then step), the tokens already in it."""
        a_n, steps = self.n_agents, self.steps
        tokens = np.concatenate(chunks) if chunks else np.zeros(0, _TOKEN)
        offsets = np.zeros(len(row_counts) + 1, dtype=np.int64)
        np.cumsum(row_counts, out=offsets[1:])
        observed_rows = observed.reshape(-1)
        alive = movers["alive"][:a_n]
        present = alive.copy()
        present[:, 1:] &= alive[:, :-1]
        source = np.where(observed_rows, 0, np.where(present.reshape(-1), 1, 2))
        n = a_n * steps
        observation = pa.BinaryArray.from_buffers(
            pa.binary(),
            n,
            [
                pa.array(observed_rows).buffers()[1],  # validity: a row without one is null
                pa.py_buffer((offsets * 3).astype(np.int32)),
                pa.py_buffer(tokens.view(np.uint8)),
            ],
        )
        action = movers["action"].reshape(-1)
        absent = ~present.reshape(-1)
        known = (action >= 0) & (action < len(self.action_names))
        names = pa.array(self.action_names + [None], pa.string()).take(
            pa.array(np.where(known, action, len(self.action_names)), mask=absent)
        )
        return pa.Table.from_arrays(
            [
                pa.repeat(pa.scalar(self.episode_id), n),
                pa.array(np.repeat(movers["agent_ids"], steps).astype(np.int32)),
                pa.array(np.tile(np.arange(steps, dtype=np.int32), a_n)),
                observation,
                pa.array(action.astype(np.int32), mask=absent),
                names,
                pa.array(movers["reward"].reshape(-1).astype(np.float32), mask=absent),
                SOURCES.take(pa.array(source.astype(np.int8))),
                pa.repeat(pa.scalar(self.width, pa.int16()), n),
                pa.repeat(pa.scalar(self.height, pa.int16()), n),
                pa.repeat(pa.scalar(self.features_json), n),
            ],
            schema=OBSERVATION_SCHEMA,
        )


def _initial_items(config: dict, item_names: list[str]) -> list[int]:
    """The item ids of a configuration's initial inventory, in its own order."""
    inventory = config.get("inventory") if isinstance(config, dict) else None
    initial = inventory.get("initial") if isinstance(inventory, dict) else None
    position = {name: i for i, name in enumerate(item_names)}
    return [position[k] for k, v in (initial or {}).items() if v and k in position]


def _type_name(obj: dict):
    raw = obj.get("type_name")
    return _last(_ANY.decode(raw)) if raw else None


def _last(value):
    """A value that changed (`[[0, ""], [52, "agent"]]` for an object that appeared late): its
    last one. Objects do not change type."""
    if isinstance(value, list) and value and isinstance(value[-1], list) and len(value[-1]) == 2:
        return value[-1][1]
    return value


def _list_changes(values: list) -> tuple[list, np.ndarray, np.ndarray]:
    """A list-valued field (`tag_ids`) of every object: (the lists, the step of each, where each
    object's start)."""
    lists, steps, starts = [], [], [0]
    for _, value in values:
        if _is_list_changes(value):
            for step, item in value:
                steps.append(step)
                lists.append(item if isinstance(item, list) else [])
        else:
            steps.append(0)
            lists.append(value if isinstance(value, list) else [])
        starts.append(len(steps))
    return lists, np.asarray(steps, np.int64), np.asarray(starts, np.int64)


class _HashOrder:
    """The iteration order of the simulator's inventory, a libstdc++ `std::unordered_map` keyed
    by item id (identity hash, prime bucket counts, max load factor 1): a key inserted into an
    empty bucket goes to the front of the list, into a used bucket to the front of that
    bucket's run; erasing keeps the others' order; growing re-links every node."""

    def __init__(self, keys=(), reserve: bool = False):
        self.nodes: list[int] = []
        self.buckets, self.next_resize = 1, 0
        if reserve and keys:  # pybind11 reserves the map it fills from a dict
            self.buckets = _FAST_BUCKETS[len(keys)] if len(keys) < 14 else _next_prime(len(keys))
            self.next_resize = self.buckets
        for key in keys:
            self.insert(key)

    def _first_of(self, nodes: list[int], bucket: int, buckets: int):
        return next((i for i, k in enumerate(nodes) if k % buckets == bucket), None)

    def insert(self, key: int) -> None:
        if len(self.nodes) + 1 > self.next_resize:
            wanted = max(len(self.nodes) + 1, 0 if self.next_resize else 11)
            if wanted >= self.buckets:
                self._rehash(_next_prime(max(wanted + 1, self.buckets * 2)))
            else:
                self.next_resize = self.buckets
        self._link(self.nodes, key, self.buckets)

    def _link(self, nodes: list[int], key: int, buckets: int) -> None:
        at = self._first_of(nodes, key % buckets, buckets)
        nodes.insert(0 if at is None else at, key)

    def _rehash(self, buckets: int) -> None:
        relinked: list[int] = []
        for key in self.nodes:
            self._link(relinked, key, buckets)
        self.nodes, self.buckets, self.next_resize = relinked, buckets, buckets

    def erase(self, key: int) -> None:
        self.nodes.remove(key)


_FAST_BUCKETS = (2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13)  # libstdc++'s, for n < 14


def _next_prime(n: int) -> int:
    while any(n % d == 0 for d in range(2, int(n**0.5) + 1)) or n < 2:
        n += 1
    return n


def _inventory_ranks(offsets, items, starts, initial: list) -> tuple[np.ndarray, int]:
    """For each inventory entry (sorted by item id within its change), its place in the
    simulator's iteration order, and how many changes added two or more items at once (their
    order among themselves is not in the replay: ascending ids are assumed).

    Most changes only change counts: the set of items held, and so the order, is the change
    before's. Only the changes whose set differs are replayed on the emulated map."""
    n_changes = len(offsets) - 1
    sizes = np.diff(offsets)
    change_of = np.repeat(np.arange(n_changes), sizes)
    first_change = np.zeros(n_changes, dtype=bool)
    first_change[starts[:-1][starts[:-1] < n_changes]] = True
    same = np.zeros(n_changes, dtype=bool)
    if items.size and items.max() < 63:
        signature = np.zeros(n_changes, dtype=np.uint64)
        np.bitwise_or.at(signature, change_of, np.left_shift(np.uint64(1), items.astype(np.uint64)))
        same[1:] = signature[1:] == signature[:-1]
    else:
        same[1:] = False
    same[1:] &= sizes[1:] == sizes[:-1]
    same &= ~first_change
    replayed = np.flatnonzero(~same)
    ranks = np.zeros(len(items), dtype=np.int64)
    ambiguous = 0
    obj_of = (np.searchsorted(starts, np.arange(n_changes), side="right") - 1).tolist()
    bounds, held_items, first = offsets.tolist(), items.tolist(), first_change.tolist()
    order = None
    replayed_ranks: list[int] = []
    for change in replayed.tolist():
        if first[change]:
            order = _initial_order(tuple(initial[obj_of[change]]))
        held = tuple(held_items[bounds[change] : bounds[change + 1]])
        order, held_ranks, added_several = _hold(order, held)
        ambiguous += added_several
        replayed_ranks.extend(held_ranks)
    sizes_replayed = sizes[replayed]
    entry = np.repeat(
        offsets[replayed] - (np.cumsum(sizes_replayed) - sizes_replayed), sizes_replayed
    )
    ranks[entry + np.arange(len(entry))] = replayed_ranks
    # A change that kept the set takes the ranks of the last replayed one, entry by entry.
    source = np.maximum.accumulate(np.where(same, 0, np.arange(n_changes)))
    copied = same[change_of]
    within = np.arange(len(items)) - offsets[:-1][change_of]
    ranks[copied] = ranks[offsets[:-1][source[change_of[copied]]] + within[copied]]
    return ranks, ambiguous


# An emulated map's state, (nodes, buckets, next resize): what `_hold` starts from and returns.
_OrderState = tuple[tuple[int, ...], int, int]


@functools.lru_cache(maxsize=1 << 12)
def _initial_order(initial: tuple[int, ...]) -> _OrderState:
    """The map as built from the configured initial inventory: inserted into a first map in
    configuration order, then copied into the object's own by iterating it."""
    order = _HashOrder(_HashOrder(initial, reserve=True).nodes)
    return tuple(order.nodes), order.buckets, order.next_resize


@functools.lru_cache(maxsize=1 << 16)
def _hold(state: _OrderState, held: tuple[int, ...]) -> tuple[_OrderState, list[int], bool]:
    """The map after the items it holds became `held` (ascending ids): erase the ones gone,
    insert the new ones; the rank of each of `held` in the new order, and whether several were
    added at once. Agents pick up and drop the same items over and over: the same few
    transitions, replayed once each."""
    order = _HashOrder()
    nodes, order.buckets, order.next_resize = state
    order.nodes = list(nodes)
    kept, present = set(held), set(nodes)
    for key in [k for k in nodes if k not in kept]:
        order.erase(key)
    new = [k for k in held if k not in present]
    for key in new:
        order.insert(key)
    place = {k: i for i, k in enumerate(order.nodes)}
    return (
        (tuple(order.nodes), order.buckets, order.next_resize),
        [place[k] for k in held],
        len(new) > 1,
    )


class _Segments:
    """Token lists (feature id, value) of object states, built with numpy for all at once."""

    def __init__(self, rebuild: _Rebuild):
        f = rebuild.feature
        self.base = rebuild.base
        self.tag_fid = f.get("tag")
        self.vibe_fid = f.get("vibe")
        self.group_fid = f.get("agent:group")
        self.agent_fid = f.get("agent_id")
        names = rebuild.item_names
        self.inv_fid = np.array([f.get(f"inv:{n}", -1) for n in names] + [-1], np.int64)
        self.inv_p1 = np.array([f.get(f"inv:{n}:p1", -1) for n in names] + [-1], np.int64)
        self.parts: list[tuple] = []  # (segment, order, feature, value) arrays
        self.count = 0
        self.static_tags: list = []
        self.static_vibe: list = []
        self.static_inv: list = []
        self.static_initial: list = []

    def add_static(self, tags: list, vibe: int, inventory: list, initial: list) -> None:
        self.static_tags.append([int(t) for t in tags])
        self.static_vibe.append(int(vibe))
        self.static_inv.append(sorted((int(i), int(c)) for i, c in inventory if c))
        self.static_initial.append(initial)

    def _finish_static(self) -> None:
        n = len(self.static_tags)
        if not n or self.count:
            return
        tag_values = self.static_tags
        tag_at = np.arange(n)
        sizes = [len(inv) for inv in self.static_inv]
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(sizes, out=offsets[1:])
        flat = [p for inv in self.static_inv for p in inv]
        pairs = np.array(flat, np.int64).reshape(-1, 2)
        ranks, _ = _inventory_ranks(offsets, pairs[:, 0], np.arange(n + 1), self.static_initial)
        self._add(
            tag_values, tag_at, np.array(self.static_vibe, np.int64),
            (offsets, pairs[:, 0], pairs[:, 1], ranks), np.arange(n),
            np.zeros(n, bool), np.zeros(n, np.int64), np.zeros(n, np.int64),
        )  # fmt: skip

    def add_dynamic(self, **kw) -> int:
        """Add the segments of the moving objects; returns the id of the first."""
        self._finish_static()
        base = self.count
        self._add(
            kw["tag_values"], kw["tag_at"], kw["vibe"], kw["inv"], kw["inv_at"],
            kw["is_agent"], kw["group"], kw["agent_id"],
        )  # fmt: skip
        return base

    def _add(self, tag_values, tag_at, vibe, inv, inv_at, is_agent, group, agent_id) -> None:
        n = len(tag_at)
        seg = np.arange(self.count, self.count + n)
        self.count += n
        parts = self.parts
        if self.tag_fid is not None:
            tag_sizes = np.array([len(t) for t in tag_values], np.int64)
            tag_flat = np.array([v for t in tag_values for v in sorted(t)], np.int64)
            tag_off = np.zeros(len(tag_values) + 1, np.int64)
            np.cumsum(tag_sizes, out=tag_off[1:])
            counts = tag_sizes[tag_at]
            within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            values = tag_flat[np.repeat(tag_off[:-1][tag_at], counts) + within]
            parts.append((np.repeat(seg, counts), np.zeros(len(values), np.int64) + within,
                          np.full(len(values), self.tag_fid), values))  # fmt: skip
        if self.vibe_fid is not None:
            has = vibe != 0
            parts.append((seg[has], np.full(has.sum(), 1000), np.full(has.sum(), self.vibe_fid),
                          vibe[has]))  # fmt: skip
        offsets, items, counts_, ranks = inv
        sizes = np.diff(offsets)[inv_at]
        within = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        element = np.repeat(offsets[:-1][inv_at], sizes) + within
        it, amount, s = items[element], counts_[element], np.repeat(seg, sizes)
        place = 2000 + ranks[element] * 4  # the simulator's iteration order
        fid = self.inv_fid[it]
        keep = fid >= 0
        parts.append((s[keep], place[keep], fid[keep], amount[keep] % self.base))
        p1 = self.inv_p1[it]
        big = (amount >= self.base) & (p1 >= 0)
        parts.append((s[big], place[big] + 1, p1[big], (amount[big] // self.base) % self.base))
        if self.group_fid is not None:
            parts.append((seg[is_agent], np.full(is_agent.sum(), 10**9),
                          np.full(is_agent.sum(), self.group_fid), group[is_agent]))  # fmt: skip
        if self.agent_fid is not None:
            parts.append((seg[is_agent], np.full(is_agent.sum(), 10**9 + 1),
                          np.full(is_agent.sum(), self.agent_fid), agent_id[is_agent]))  # fmt: skip

    def tokens(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(offsets per segment, feature ids, values) of every token list."""
        self._finish_static()
        if not self.parts:
            return np.zeros(self.count + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        seg, order, feat, val = (np.concatenate([p[i] for p in self.parts]) for i in range(4))
        ranked = np.lexsort((order, seg))
        offsets = np.zeros(self.count + 1, np.int64)
        np.cumsum(np.bincount(seg, minlength=self.count), out=offsets[1:])
        return offsets, feat[ranked], val[ranked]
