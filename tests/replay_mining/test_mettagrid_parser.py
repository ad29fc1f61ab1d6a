"""The replay parser on crafted replays: carry-forward, state-before-acting, versions, errors."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from assets.replay_mining.mettagrid import DATASET_SCHEMA, Episode, ReplayError, parse_replay
from sandboxes.mettagrid_replays import encode_replay, generate_replay

EPISODE = Episode("ep-1", policy="p", environment="env")


def v2_replay(**agent_overrides) -> dict:
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
        "version": 2,
        "num_agents": 1,
        "max_steps": 6,
        "map_size": [5, 4],
        "action_names": ["noop", "move", "rotate", "attack", "get_items"],
        "item_names": ["ore_red", "battery"],
        "type_names": ["agent", "wall"],
        "objects": [wall, agent],
    }


def rows_of(replay: dict) -> list[dict]:
    return parse_replay(zlib.compress(json.dumps(replay).encode()), EPISODE).table.to_pylist()


def test_one_row_per_agent_per_step_with_carry_forward():
    rows = rows_of(v2_replay())
    assert [r["step"] for r in rows] == [0, 1, 2, 3, 4, 5]
    # The state an agent acts from at step t is the record of step t-1 (step 0: the first record).
    assert [(r["position_x"], r["position_y"]) for r in rows] == [
        (1, 1),
        (1, 1),
        (1, 1),
        (2, 1),
        (2, 1),
        (2, 2),
    ]
    assert [r["orientation"] for r in rows] == [0, 0, 0, 0, 2, 2]
    assert [dict(r["inventory"]) for r in rows] == [
        {},
        {},
        {"ore_red": 1},
        {"ore_red": 1},
        {"ore_red": 2, "battery": 1},
        {"ore_red": 2, "battery": 1},
    ]
    # Action, success and reward are those of step t itself, names not only ids.
    assert [r["action_name"] for r in rows] == [
        "move",
        "move",
        "get_items",
        "get_items",
        "get_items",
        "noop",
    ]
    assert [r["action_success"] for r in rows] == [True, True, True, True, False, False]
    assert [r["reward"] for r in rows] == [0.0, 0.0, 0.0, 0.5, 0.0, 0.0]
    assert [r["total_reward"] for r in rows] == [0.0, 0.0, 0.0, 0.5, 0.5, 0.5]
    assert (
        rows[0]["episode_id"] == "ep-1" and rows[0]["policy"] == "p" and rows[0]["map_width"] == 5
    )


def test_constant_values_are_not_mistaken_for_change_lists():
    rows = rows_of(v2_replay(location=[3, 2], inventory=[[0, 4], [1, 1]], orientation=1))
    assert {(r["position_x"], r["position_y"]) for r in rows} == {(3, 2)}  # not [0, 0, 0]
    assert all(dict(r["inventory"]) == {"ore_red": 4, "battery": 1} for r in rows)
    assert {r["orientation"] for r in rows} == {1}


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
                "agent:inv:ore.red": [[0, 0], [1, 2]],
                "agent:inv:battery": 0,
                "action": [[0, [1, 0]], [2, [2, 3]]],
                "action_success": True,
                "reward": [[0, 0.0], [3, 1.0]],
                "total_reward": [[0, 0.0], [3, 1.0]],
            },
        ],
    }
    rows = rows_of(replay)
    assert [r["position_y"] for r in rows] == [5, 5, 5, 6]
    assert {r["position_x"] for r in rows} == {4}
    assert [r["orientation"] for r in rows] == [1, 1, 3, 3]
    assert [dict(r["inventory"]) for r in rows] == [{}, {}, {"ore.red": 2}, {"ore.red": 2}]
    assert [(r["action_name"], r["action_param"]) for r in rows] == [
        ("move", 0),
        ("move", 0),
        ("rotate", 3),
        ("rotate", 3),
    ]
    assert {r["group_id"] for r in rows} == {3} and rows[0]["replay_version"] == 1


def test_gzip_is_accepted_too():
    data = gzip.compress(json.dumps(v2_replay()).encode())
    assert parse_replay(data, EPISODE).table.num_rows == 6


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"\x78\x9c" + b"garbage" * 10, "corrupt zlib"),
        (zlib.compress(json.dumps(v2_replay()).encode()[:-40]), "truncated or invalid JSON"),
        (
            zlib.compress(json.dumps({**v2_replay(), "version": 3}).encode()),
            "unsupported replay format version 3",
        ),
        (
            zlib.compress(json.dumps(v2_replay(action_id=9)).encode()),
            "outside the replay's 5 action_names",
        ),
        (zlib.compress(json.dumps({**v2_replay(), "objects": []}).encode()), "no agents"),
        (zlib.compress(b"[1, 2]"), "not an object"),
    ],
)
def test_bad_replays_are_named(data, reason):
    with pytest.raises(ReplayError, match=reason):
        parse_replay(data, EPISODE)


def test_generated_sandbox_replays_parse_to_the_documented_schema():
    replay = generate_replay("0b7e2f4a-1111-4c2d-9e55-000000000001", max_agents=6, max_steps=300)
    parsed = parse_replay(encode_replay(replay), EPISODE)
    assert parsed.table.schema.equals(DATASET_SCHEMA)
    assert parsed.table.num_rows == replay["num_agents"] * replay["max_steps"]
    assert set(parsed.table.column("action_name").to_pylist()) <= set(replay["action_names"])
    # The same id always gives the same replay.
    assert encode_replay(
        generate_replay("0b7e2f4a-1111-4c2d-9e55-000000000001", max_agents=6, max_steps=300)
    ) == encode_replay(replay)
