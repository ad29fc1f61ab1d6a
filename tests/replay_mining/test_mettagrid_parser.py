"""The replay parser on crafted replays of every format version: change lists, the state an agent
acted from, step 0, agents that join or leave, policies, vibes, and every kind of bad input."""

from __future__ import annotations

import copy
import gzip
import io
import json
import os
import tracemalloc
import zlib

import numpy as np
import pyarrow.parquet as pq
import pytest

from assets.replay_mining.mettagrid import (
    CHUNK_BYTES,
    DATASET_SCHEMA,
    KEEP_BYTES,
    Episode,
    ReplayError,
    decompress,
    parse_replay,
)
from sandboxes.mettagrid_replays import encode_replay, generate_replay
from sandboxes.stats_server import BOMB_BYTES, zlib_bomb

EPISODE = Episode("ep-1", policy="episode_policy", environment="env")


def v2_replay(version: int = 2, **agent_overrides) -> dict:
    agent = {
        "id": 7,
        "type_name": "agent",
        "agent_id": 0,
        "group_id": 1,
        # Exactly three changes: the old miner mistook this for a fixed [x, y, layer].
        "location": [[0, [1, 1]], [2, [2, 1]], [4, [2, 2]]],
        "orientation": [[0, 0], [3, 2]],
        "inventory": [[0, []], [1, [[0, 1]]], [3, [[0, 2], [1, 1]]]],
        "action_id": [[0, 1], [2, 4], [5, 0]],
        "action_param": 0,
        "action_success": [[0, True], [4, False]],
        "current_reward": [[0, 0.0], [3, 0.5], [4, 0.0]],
        "total_reward": [[0, 0.0], [3, 0.5]],
    }
    agent.update(agent_overrides)
    wall = {"id": 1, "type_name": "wall", "location": [0, 0], "orientation": 0, "inventory": []}
    return {
        "version": version,
        "num_agents": 1,
        "max_steps": 6,
        "map_size": [5, 4],
        "action_names": ["noop", "move", "rotate", "attack", "get_items"],
        "item_names": ["ore_red", "battery"],
        "type_names": ["agent", "wall"],
        "objects": [wall, agent],
    }


def v4_replay(**agent_overrides) -> dict:
    replay = v2_replay(4, **agent_overrides)
    replay["mg_config"] = {
        "game": {
            "vibe_names": ["default", "heart", "miner"],
            "agent": {"vibe": 0, "inventory": {"initial": {}}},
            # The agent is of group 1: team 1's first configuration is its own, not agents[0].
            "agents": [
                {"team_id": 0, "vibe": 1, "inventory": {"initial": {"ore_red": 9}}},
                {"team_id": 1, "vibe": 2, "inventory": {"initial": {"battery": 3, "ore_red": 0}}},
            ],
        }
    }
    defaults = {"alive": True, "vibe_id": [[0, 2], [2, 1]], "vibe": [[0, 2], [2, 1]]}
    replay["objects"][1] = defaults | replay["objects"][1]  # what the test gives wins
    return replay


def rows_of(replay: dict, compress=zlib.compress) -> list[dict]:
    table = parse_replay(compress(json.dumps(replay).encode()), EPISODE).table
    return written_and_read(table).to_pylist()


def written_and_read(table):
    """The table through a parquet file, as the dataset stage writes it (parquet refuses some
    Arrow layouts, e.g. a null map that still has entries)."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    again = pq.read_table(io.BytesIO(buffer.getvalue()))
    assert again.equals(table)
    return again


def column(rows, name):
    return [r[name] for r in rows]


def test_state_is_the_previous_record_and_step_0_is_not_presented_as_recorded():
    rows = rows_of(v2_replay())
    assert column(rows, "step") == [0, 1, 2, 3, 4, 5]
    # Record t is the state after action t: the state acted from at step t is record t-1. Nothing
    # is recorded before action 0, and this replay configures nothing: step 0's state is null.
    assert [(r["position_x"], r["position_y"]) for r in rows] == [
        (None, None),
        (1, 1),
        (1, 1),
        (2, 1),
        (2, 1),
        (2, 2),
    ]
    assert column(rows, "orientation") == [None, 0, 0, 0, 2, 2]
    assert [None if r["inventory"] is None else dict(r["inventory"]) for r in rows] == [
        None,
        {},
        {"ore_red": 1},
        {"ore_red": 1},
        {"ore_red": 2, "battery": 1},
        {"ore_red": 2, "battery": 1},
    ]
    assert column(rows, "state_source") == ["unrecorded"] + ["recorded"] * 5
    # Action, success and reward are those of step t itself, names not only ids.
    assert column(rows, "action_name") == ["move", "move", "get_items", "get_items"] + [
        "get_items",
        "noop",
    ]
    assert column(rows, "action_success") == [True, True, True, True, False, False]
    assert column(rows, "reward") == [0.0, 0.0, 0.0, 0.5, 0.0, 0.0]
    assert column(rows, "total_reward") == [0.0, 0.0, 0.0, 0.5, 0.5, 0.5]
    assert rows[0]["episode_id"] == "ep-1" and rows[0]["policy"] == "episode_policy"
    assert rows[0]["map_width"] == 5 and rows[0]["replay_version"] == 2
    # Version 2 without policies or vibes: the episode's policy acted, no vibe is known.
    assert set(column(rows, "agent_policy")) == {"episode_policy"}
    assert set(column(rows, "vibe_id")) == {None} and set(column(rows, "alive")) == {True}


def test_step_0_takes_the_configured_initial_inventory_and_vibe():
    rows = rows_of(v4_replay())
    first = rows[0]
    assert first["state_source"] == "configured"
    assert dict(first["inventory"]) == {"battery": 3}  # its team's initial inventory, zeros dropped
    assert (first["vibe_id"], first["vibe_name"]) == (2, "miner")  # its team's configured vibe
    assert (first["position_x"], first["orientation"]) == (None, None)  # not configured
    # From step 1 on, the record of the step before.
    assert column(rows, "vibe_id") == [2, 2, 2, 1, 1, 1]
    assert column(rows, "vibe_name")[1:] == ["miner", "miner", "heart", "heart", "heart"]
    assert column(rows, "state_source")[1:] == ["recorded"] * 5


def team_replay(teams: list[int], groups: list[int]) -> dict:
    """A version-4 replay of agents 0..n-1 in `groups`, configured by `game.agents` whose
    team ids are `teams` (each configuration's initial ore is its index)."""
    replay = v4_replay()
    agent = replay["objects"][1]
    replay["objects"][1:] = [
        agent | {"id": 10 + i, "agent_id": i, "group_id": g} for i, g in enumerate(groups)
    ]
    replay["num_agents"] = len(groups)
    replay["mg_config"]["game"]["agents"] = [
        {"team_id": t, "vibe": i % 3, "inventory": {"initial": {"ore_red": 1 + i}}}
        for i, t in enumerate(teams)
    ]
    return replay


def step_0(replay: dict) -> list:
    rows = [r for r in rows_of(replay) if r["step"] == 0]
    return [
        (r["state_source"], None if r["inventory"] is None else r["inventory"][0][1], r["vibe_id"])
        for r in sorted(rows, key=lambda r: r["agent_id"])
    ]


def test_step_0_gives_the_kth_agent_of_a_group_the_kth_configuration_of_its_team():
    # As the simulator does (mettagrid 0.26's convert_to_cpp_game_config): game.agents grouped
    # by team in order of first appearance; agents 0, 1, 3 are group 0, agents 2, 4 group 1.
    replay = team_replay(teams=[0, 1, 0, 1, 0], groups=[0, 0, 1, 0, 1])
    assert step_0(replay) == [
        ("configured", 1, 0),  # agents[0]: team 0's first
        ("configured", 3, 2),  # agents[2]: team 0's second (agents[1] is team 1's)
        ("configured", 2, 1),  # agents[1]: team 1's first
        ("configured", 5, 1),  # agents[4]
        ("configured", 4, 0),  # agents[3]
    ]


def test_step_0_is_unrecorded_where_the_simulator_could_not_have_assigned_configurations():
    # Teams not numbered 0, 1, ... in order of first appearance: the simulator's cell names for
    # them collide, and which configuration an agent got is not in the replay.
    assert {s for s, _, _ in step_0(team_replay([1, 0, 1], [0, 1, 0]))} == {"unrecorded"}
    # A group with more agents than its team has configurations.
    assert step_0(team_replay([0, 1], [0, 0, 1])) == [
        ("configured", 1, 0),
        ("unrecorded", None, None),
        ("configured", 2, 1),
    ]


def test_older_configurations_and_vibe_names_missing():
    replay = v4_replay()
    replay["mg_config"] = {"game": {"agent": {"initial_inventory": {"ore_red": 5}}}}  # 2025 layout
    rows = rows_of(replay)
    assert dict(rows[0]["inventory"]) == {"ore_red": 5} and rows[0]["vibe_id"] is None
    assert column(rows, "vibe_id")[1:] == [2, 2, 1, 1, 1]
    assert set(column(rows, "vibe_name")) == {None}  # the replay does not name its vibes


def test_constant_values_are_not_mistaken_for_change_lists():
    # `[[6, 100]]`-style constant inventories look like change lists; a fixed [x, y] is a position.
    rows = rows_of(v2_replay(3, location=[3, 2], inventory=[[1, 4], [0, 1]], orientation=1))
    assert {(r["position_x"], r["position_y"]) for r in rows[1:]} == {(3, 2)}
    assert all(dict(r["inventory"]) == {"ore_red": 1, "battery": 4} for r in rows[1:])
    assert list(rows[1]["inventory"]) == [("ore_red", 1), ("battery", 4)]  # sorted by item id
    assert {r["orientation"] for r in rows[1:]} == {1}


def test_version_3_unsorted_inventories_and_late_keys():
    rows = rows_of(
        v2_replay(
            3,
            # hash-map order, and a key that appeared at step 3: `[[0, 0], [3, value]]`
            inventory=[[0, [[1, 2], [0, 5]]], [2, [[1, 1], [0, 5]]]],
            vibe_id=[[0, 0], [3, 1]],
            collective_id=[[0, 1], [4, -1]],  # a version-3 extra key, ignored
        )
    )
    assert [dict(r["inventory"]) for r in rows[1:4]] == [
        {"ore_red": 5, "battery": 2},
        {"ore_red": 5, "battery": 2},
        {"ore_red": 5, "battery": 1},
    ]
    assert column(rows, "vibe_id") == [None, 0, 0, 0, 1, 1]
    assert rows[0]["replay_version"] == 3


def test_an_inventory_that_first_appears_late_reads_empty_before():
    rows = rows_of(v2_replay(3, inventory=[[0, 0], [3, [[1, 1]]]]))
    assert [dict(r["inventory"]) for r in rows[1:]] == [{}, {}, {}, {"battery": 1}, {"battery": 1}]


def test_version_4_policy_infos_give_the_policy_of_each_step():
    rows = rows_of(
        v4_replay(
            policy_infos=[
                [0, {"message": "exploring", "policy_name": "hearts_ppo"}],
                [2, {"message": "to the mine", "policy_name": "hearts_ppo"}],
                [4, {"policy_name": "scripted_fallback", "extra": [1, 2]}],
                [5, {"message": "no name here"}],
            ]
        )
    )
    assert column(rows, "agent_policy") == ["hearts_ppo"] * 4 + [
        "scripted_fallback",
        "episode_policy",  # an object without policy_name: the episode's policy
    ]
    constant = rows_of(v4_replay(policy_infos={"policy_name": "solo", "message": "hi"}))
    assert set(column(constant, "agent_policy")) == {"solo"}


def late_agent(join: int) -> dict:
    """An agent first seen at step `join`: how the writer records it (every key starts with its
    typed default at step 0, `agent_id` included)."""
    return {
        "alive": [[0, False], [join, True]],
        "id": [[0, 0], [join, 9]],
        "type_name": [[0, ""], [join, "agent"]],
        "agent_id": [[0, 0], [join, 1]],
        "group_id": [[0, 0], [join, 1]],
        "location": [[0, []], [join, [3, 3]], [join + 1, [3, 2]]],
        "orientation": [[0, 0], [join, 0]],
        "inventory": [[0, []], [join, [[0, 1]]]],
        "action_id": [[0, 0], [join, 1], [join + 1, 0]],
        "action_success": [[0, 0], [join, True]],
        "current_reward": [[0, 0.0], [join, 0.25]],
        "total_reward": [[0, 0.0], [join, 0.25]],
    }


def test_agents_that_join_late_or_leave_give_rows_marked_not_alive():
    replay = v4_replay(alive=[[0, True], [4, False]])  # agent 0 leaves at step 4
    replay["num_agents"] = 2
    replay["objects"].append(late_agent(join=2))
    rows = rows_of(replay)
    leaver, joiner = rows[:6], rows[6:]
    assert len(rows) == 12  # one row per agent per step, whatever their presence
    # The leaver vanished during step 4: rows 4 and 5 have no recorded action or state.
    assert column(leaver, "alive") == [True, True, True, True, False, False]
    assert column(leaver, "state_source")[4:] == ["absent", "absent"]
    assert column(leaver, "action_name")[4:] == [None, None]
    assert column(leaver, "position_x")[4:] == [None, None]
    assert column(leaver, "inventory")[4:] == [None, None]
    assert column(leaver, "reward")[4:] == [None, None]
    # The joiner appeared during step 2: its first row with a recorded state is step 3.
    assert [r["agent_id"] for r in joiner] == [1] * 6
    assert column(joiner, "alive") == [False, False, False, True, True, True]
    assert column(joiner, "state_source") == ["absent"] * 3 + ["recorded"] * 3
    assert [(r["position_x"], r["position_y"]) for r in joiner[3:]] == [(3, 3), (3, 2), (3, 2)]
    assert column(joiner, "action_name")[3:] == ["noop", "noop", "noop"]
    assert column(joiner, "group_id") == [0, 0, 1, 1, 1, 1]  # the key itself joined at step 2
    assert joiner[3]["agent_policy"] == "episode_policy"  # no policy_infos: the episode's


def test_typed_placeholders_and_out_of_order_changes():
    rows = rows_of(
        v4_replay(
            location=[[0, []], [2, [4, 4]]],  # typed placeholder: no position recorded before
            action_id=[[3, 2], [0, 1]],  # out of step order: read in step order
        )
    )
    assert column(rows, "position_x") == [None, None, None, 4, 4, 4]
    assert column(rows, "action_name") == ["move", "move", "move", "rotate", "rotate", "rotate"]


def test_unknown_extra_keys_never_break_it():
    replay = v4_replay(talk_text=[[0, ""], [3, "hello"]], monologue_append="", animation_id=1)
    replay["objects"][1] |= {"future_key": {"nested": [1, {"a": None}]}, "tag_ids": [[0, [1]]]}
    replay |= {"infos": {"game": {}}, "policy_env_interface": {"obs": []}, "version_5_hint": [1]}
    replay["objects"].append({"id": 99, "type_name": "hub", "anything": {"goes": True}})
    assert len(rows_of(replay)) == 6


def test_zlib_and_gzip_are_told_apart_by_their_bytes():
    replay = v4_replay()
    assert rows_of(replay, gzip.compress) == rows_of(replay, zlib.compress)


def test_version_1_layout():
    replay = {
        "version": 1,
        "num_agents": 1,
        "max_steps": 4,
        "map_size": [9, 9],
        "action_names": ["noop", "move", "rotate"],
        "inventory_items": ["ore.red", "battery"],
        "object_types": ["agent", "wall"],
        "grid_objects": [
            {"id": 1, "type": 1, "r": 0, "c": 0, "layer": 0},
            {
                "id": 2,
                "type": 0,
                "agent_id": 0,
                "agent:group": 3,
                "r": [[0, 5], [2, 6]],
                "c": 4,
                "agent:orientation": [[0, 1], [1, 3]],
                "agent:inv:ore.red": [[0, 1], [1, 2]],  # held at record 0 already
                "agent:inv:battery": 0,
                "action": [[0, [1, 0]], [2, [2, 3]]],
                "action_success": True,
                "reward": [[0, 0.0], [3, 1.0]],
                "total_reward": [[0, 0.0], [3, 1.0]],
            },
        ],
    }
    second = dict(replay["grid_objects"][1], id=3, agent_id=1)
    replay["grid_objects"].append(second)  # a second agent: its step 0 follows a full inventory
    replay["num_agents"] = 2
    rows = rows_of(replay)
    assert rows[4:] == [dict(r, agent_id=1) for r in rows[:4]]
    rows = rows[:4]
    assert column(rows, "position_y") == [None, 5, 5, 6]
    assert column(rows, "position_x") == [None, 4, 4, 4]
    assert column(rows, "orientation") == [None, 1, 3, 3]
    assert [None if r["inventory"] is None else dict(r["inventory"]) for r in rows] == [
        None,
        {"ore.red": 1},
        {"ore.red": 2},
        {"ore.red": 2},
    ]
    assert [(r["action_name"], r["action_param"]) for r in rows] == [
        ("move", 0),
        ("move", 0),
        ("rotate", 3),
        ("rotate", 3),
    ]
    assert {r["group_id"] for r in rows} == {3} and rows[0]["replay_version"] == 1
    assert rows[0]["state_source"] == "unrecorded"


def compressed(replay: dict) -> bytes:
    return zlib.compress(json.dumps(replay).encode())


def without(replay: dict, key: str) -> dict:
    replay = copy.deepcopy(replay)
    del replay[key]
    return replay


# mtime=0: the same bytes, so the same test id, in every process (pytest-xdist compares them)
GZIP = gzip.compress(json.dumps(v4_replay()).encode(), mtime=0)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"\x78\x9c" + b"garbage" * 10, "corrupt zlib data"),
        (GZIP[: len(GZIP) // 2], "gzip stream cut short"),
        (b"PK\x03\x04 a zip file", "not a zlib or gzip file"),
        (zlib.compress(json.dumps(v2_replay()).encode()[:-40]), "truncated or invalid JSON"),
        (compressed({**v4_replay(), "version": 5}), "unsupported replay format version 5 "),
        (compressed({**v4_replay(), "version": "4"}), "unsupported replay format version '4'"),
        (compressed(without(v4_replay(), "version")), "missing required key 'version'"),
        (compressed(without(v4_replay(), "objects")), "missing required key 'objects'"),
        (compressed(without(v4_replay(), "max_steps")), "missing required key 'max_steps'"),
        (compressed({**v4_replay(), "objects": {"1": {}}}), r"malformed replay.*\$\.objects"),
        (compressed(v4_replay(action_id=9)), "outside the replay's 5 action_names"),
        (compressed(v4_replay(inventory=[[0, [[2, 1]]]])), "item id 2 is outside the replay's 2"),
        (compressed(v4_replay(inventory=[[-1, 1]])), "item id -1 is outside"),
        (compressed(v4_replay(policy_infos="hearts_ppo")), "policy_infos at step 0 is a str"),
        (compressed(v4_replay(policy_infos=[[0, 7]])), "policy_infos at step 0 is a int"),
        (compressed(v4_replay(policy_infos=[[0, {"policy_name": 3}]])), "is 3, not a string"),
        (compressed(v4_replay(current_reward=[[0, "x"]])), "`current_reward` holds 'x'"),
        (compressed(v4_replay(location=[[0, "here"]])), "`location` entry"),
        (compressed({**v4_replay(), "objects": []}), "no agents"),
        (zlib.compress(b"[1, 2]"), "not an object"),
    ],
)
def test_bad_replays_are_named(data, reason):
    with pytest.raises(ReplayError, match=reason):
        parse_replay(data, EPISODE)


def test_an_agent_without_action_id_is_named():
    replay = v4_replay()
    del replay["objects"][1]["action_id"]
    with pytest.raises(ReplayError, match="agent 0 has no 'action_id'"):
        parse_replay(compressed(replay), EPISODE)


def expand(value, steps: int, default, is_list: bool = False) -> list:
    """The viewer's expansion (replays.nim `expand`), step by step: the reference to check the
    vectorised one against."""
    if not isinstance(value, list) or not value:
        return [default if value is None else value] * steps
    changes = value
    if is_list and not any(isinstance(c[1], list) for c in value[:2]):
        return [value] * steps  # a constant list value
    if not is_list and not isinstance(value[0], list):
        return [value] * steps
    out, current, j = [], default, 0
    for step in range(steps):
        while j < len(changes) and changes[j][0] <= step:
            current = changes[j][1]
            j += 1
        out.append(current)
    return out


@pytest.mark.parametrize("version", [1, 2, 3, 4])
@pytest.mark.parametrize("compression", ["zlib", "gzip"])
def test_generated_replays_of_every_version_agree_with_a_step_by_step_reading(version, compression):
    episode_id = f"0b7e2f4a-1111-4c2d-9e55-00000000000{version}"
    for attempt in range(
        12
    ):  # find a version-4 episode with an agent that joins and one that leaves
        replay = generate_replay(f"{episode_id}{attempt}", 3, 6, 60, 150, version, "pol")
        if version < 4 or any(isinstance(o.get("alive"), list) for o in replay["objects"]):
            break
    table = parse_replay(encode_replay(replay, compression), Episode("e", policy="pol")).table
    assert table.schema.equals(DATASET_SCHEMA)
    written_and_read(table)
    steps = replay["max_steps"]
    assert table.num_rows == replay["num_agents"] * steps
    rows = table.to_pylist()
    objects = replay["grid_objects" if version == 1 else "objects"]
    agents = sorted(
        (o for o in objects if "agent_id" in o),
        key=lambda o: o["agent_id"][-1][1] if isinstance(o["agent_id"], list) else o["agent_id"],
    )
    items = replay.get("item_names") or replay.get("inventory_items")
    for index, agent in enumerate(agents):
        mine = rows[index * steps : (index + 1) * steps]
        alive = expand(agent.get("alive", True), steps, True)
        if version == 1:
            xs, ys = expand(agent["c"], steps, 0), expand(agent["r"], steps, 0)
            locations = list(zip(xs, ys, strict=True))
            actions = [a[0] for a in expand(agent["action"], steps, [0, 0], True)]
            inventories = [
                {
                    item: count
                    for item in items
                    if (count := expand(agent[f"agent:inv:{item}"], steps, 0)[t])
                }
                for t in range(steps)
            ]
        else:
            locations = [tuple(p[:2]) for p in expand(agent["location"], steps, [0, 0], True)]
            actions = expand(agent["action_id"], steps, 0)
            inventories = [
                {items[i]: c for i, c in inv} for inv in expand(agent["inventory"], steps, [], True)
            ]
        for t, row in enumerate(mine):
            present = alive[t] and (t == 0 or alive[t - 1])
            assert row["alive"] == bool(present), (index, t)
            if not present:
                assert row["action_id"] is None and row["state_source"] == "absent"
                continue
            assert row["action_name"] == replay["action_names"][actions[t]], (index, t)
            if t == 0:
                assert row["position_x"] is None and row["state_source"] != "recorded"
                continue
            assert (row["position_x"], row["position_y"]) == locations[t - 1], (index, t)
            assert dict(row["inventory"]) == inventories[t - 1], (index, t)
            assert row["state_source"] == "recorded"


def test_generated_replays_are_deterministic():
    args = ("0b7e2f4a-1111-4c2d-9e55-000000000001", 2, 6, 50, 300)
    assert encode_replay(generate_replay(*args, version=4)) == encode_replay(
        generate_replay(*args, version=4)
    )
    assert encode_replay(generate_replay(*args, version=4), "gzip") == encode_replay(
        generate_replay(*args, version=4), "gzip"
    )


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_the_fast_byte_level_reading_agrees_with_the_decoded_one(version):
    """Numbers are read straight from the raw JSON bytes when a field has the usual shape; the
    decoded, per-change reading is the reference (and the fallback)."""
    import msgspec

    from assets.replay_mining import mettagrid as m

    replay = generate_replay("0b7e2f4a-1111-4c2d-9e55-0000000000aa", 3, 6, 40, 120, version)
    objects = replay["grid_objects" if version == 1 else "objects"]
    # (an agent that joins late has placeholders, read by the decoded path: tested above)
    agents = [o for o in objects if "agent_id" in o and not isinstance(o.get("alive"), list)]

    def raws(key):
        return [
            (a["agent_id"], msgspec.Raw(json.dumps(a[key]).encode()) if key in a else None)
            for a in agents
        ]

    scalar_keys = ["action_success", "total_reward"] + (
        ["agent:orientation", "r"] if version == 1 else ["action_id", "current_reward", "vibe_id"]
    )
    for key in scalar_keys:
        if version == 2 and key == "vibe_id":
            continue
        fast = m._scalars_fast(raws(key), b"0")
        slow = m._flatten_scalars(m._decoded(raws(key)), key, 0)
        assert fast is not None, key
        for f, s in zip(fast, slow, strict=True):
            assert np.array_equal(f, s), key
    point_key = "action" if version == 1 else "location"
    fast = m._points_fast(raws(point_key))
    slow = m._flatten_pairs(m._decoded(raws(point_key)), point_key)
    assert fast is not None and all(np.array_equal(f, s) for f, s in zip(fast, slow, strict=True))
    if version > 1:
        items = replay["item_names"]
        assert m._inventory_fast(raws("inventory")) is not None
        fast = m._inventory_changes(raws("inventory"), items)
        slow_values = m._decoded(raws("inventory"))
        as_raw = [
            (i, msgspec.Raw(json.dumps(v).replace(", ", " ,").encode() + b" "))
            for i, v in slow_values
        ]
        # A changed byte layout (spaces before commas) still reads the same.
        again = m._inventory_changes(as_raw, items)
        assert all(np.array_equal(f, s) for f, s in zip(fast, again, strict=True))
        # The decoded reading, forced by a placeholder the fast path does not take.
        forced = raws("inventory") + [(99, msgspec.Raw(b"[[0, 0], [3, [[0, 1]]]]"))]
        assert m._inventory_fast(forced) is None
        slow = m._inventory_changes(forced, items)
        offsets, item_ids, counts, steps, starts = slow
        n = len(agents)  # the recorded agents' changes come first, unchanged
        assert np.array_equal(steps[: starts[n]], fast[3])
        assert np.array_equal(item_ids[: offsets[starts[n]]], fast[1])


# --- hostile replays (issue 24): a reason each, never another exception, no memory spike -----


def _replay_bytes(replay: dict) -> bytes:
    return zlib.compress(json.dumps(replay).encode())


def _small_replay(**top) -> dict:
    agent = {
        "agent_id": 0, "location": [[0, [1, 1]]], "orientation": 0, "inventory": [],
        "action_id": 0, "action_success": True, "current_reward": 0, "total_reward": 0,
        "group_id": 0,
    }  # fmt: skip
    return {
        "version": 3, "max_steps": 5, "num_agents": 1, "action_names": ["noop"],
        "item_names": [], "objects": [agent],
    } | top  # fmt: skip


@pytest.mark.parametrize("agent_id", [2**70, 2**63, -1, 2**31])
def test_an_agent_id_out_of_range_is_a_replay_error(agent_id):
    replay = _small_replay()
    replay["objects"][0]["agent_id"] = agent_id
    with pytest.raises(ReplayError, match="agent_id is outside 0..2"):
        parse_replay(_replay_bytes(replay), Episode("e"))


def test_a_replay_declaring_too_many_rows_is_refused_before_allocating_them():
    with pytest.raises(ReplayError, match="more than the 20,000,000 one replay may have"):
        parse_replay(_replay_bytes(_small_replay(max_steps=10**9)), Episode("e"))


@pytest.mark.parametrize("max_steps", [2**70, [5], {"steps": 5}, "many"])
def test_a_top_level_number_of_the_wrong_kind_is_a_replay_error(max_steps):
    with pytest.raises(ReplayError):
        parse_replay(_replay_bytes(_small_replay(max_steps=max_steps)), Episode("e"))


def test_deeply_nested_json_is_a_replay_error():
    raw = json.dumps(_small_replay(mg_config="NESTED")).encode()
    raw = raw.replace(b'"NESTED"', b"[" * 200_000 + b"]" * 200_000)
    with pytest.raises(ReplayError, match="nested too deeply"):
        parse_replay(zlib.compress(raw), Episode("e"))


def test_a_zlib_bomb_is_refused_holding_at_most_a_bounded_buffer():
    bomb = zlib_bomb(BOMB_BYTES)  # 2 GiB of zeros
    tracemalloc.start()
    try:
        with pytest.raises(ReplayError, match="decompresses to more than 512 MiB"):
            parse_replay(bomb, Episode("e"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # what the first pass keeps, a chunk, and the compressed input's unread tail (copied per call)
    bound = KEEP_BYTES + 2 * CHUNK_BYTES + 2 * len(bomb)
    assert peak < bound, f"peak {peak / 2**20:.0f} MiB while refusing a 2 GiB bomb"


def test_a_replay_larger_than_the_first_pass_keeps_is_still_read_whole():
    data = os.urandom(1 << 16) * ((KEEP_BYTES >> 16) + 8)  # just past what one pass keeps
    for compressed in (zlib.compress(data, 1), gzip.compress(data, 1)):
        assert decompress(compressed) == data
    with pytest.raises(ReplayError, match="decompresses to more than 1 MiB"):
        decompress(zlib.compress(data, 1), max_bytes=2**20)


def test_concatenated_gzip_members_are_read_as_gzip_reads_them():
    assert (
        decompress(gzip.compress(b"a" * 100) + gzip.compress(b"b" * 50)) == b"a" * 100 + b"b" * 50
    )
