"""Replays written by the real simulator, parsed and compared column by column with the
simulator's own state at every step, step 0 included.

The episodes are played by mettagrid itself (the `simulator` dependency group, in its own
environment: sandboxes/mettagrid_simulator.py) and written by its own ReplayLogWriter, zlib and
gzip; seeded, so every run compares the same episodes. Agents of two and three teams with
per-agent configurations, one team on `game.agent` alone, a crowded map where many moves fail,
a small observation window.
"""

from __future__ import annotations

import json
import zlib

import numpy as np
import pyarrow as pa
import pytest

from assets.replay_mining.mettagrid import Episode, decompress, parse_replay
from sandboxes.mettagrid_simulator import BY_NAME, TEAM_POLICIES, load_truth, play_episodes


@pytest.fixture(scope="module")
def episodes():
    return play_episodes()


def parsed(folder, name):
    spec = BY_NAME[name]
    data = (folder / spec.file_name).read_bytes()
    table = parse_replay(data, Episode(name, policy="episode_policy")).table
    meta, truth = load_truth(folder, name)
    return data, table, meta, truth


def by_row(truth: np.ndarray) -> np.ndarray:
    """(step, agent, ...) -> the dataset's row order (agent, then step)."""
    return np.swapaxes(truth, 0, 1).reshape(-1, *truth.shape[2:])


def inventories(truth_inventory: np.ndarray, names: list[str]) -> list[dict]:
    return [{names[i]: int(c) for i, c in enumerate(row) if c} for row in by_row(truth_inventory)]


@pytest.mark.parametrize("name", list(BY_NAME))
def test_every_column_equals_the_simulators_own_state_at_every_step(episodes, name):
    data, table, meta, truth = parsed(episodes, name)
    spec = BY_NAME[name]
    assert data[:2] == (b"\x1f\x8b" if spec.compression == "gzip" else b"\x78\x9c")
    steps, agents = spec.steps, spec.num_agents
    cols = table.to_pydict()
    assert len(table) == steps * agents
    step = np.asarray(cols["step"])
    later = step > 0

    # Identity and shape.
    assert cols["agent_id"] == list(np.repeat(np.arange(agents), steps))
    assert set(cols["replay_version"]) == {4} and set(cols["max_steps"]) == {steps}
    assert set(cols["num_agents"]) == {agents}
    assert (cols["map_width"][0], cols["map_height"][0]) == (spec.width, spec.height)
    assert cols["group_id"] == list(by_row(truth["group"]))
    assert set(cols["alive"]) == {True}  # nothing leaves in these episodes

    # The state acted from: the simulator's before each action. Step 0 has no record: its
    # inventory and vibe are what the configuration gives, equal to the simulator's start.
    for column, key in (("position_x", "x"), ("position_y", "y")):
        got = np.asarray(cols[column], dtype=object)
        assert list(got[later]) == list(by_row(truth[key])[later])
        assert set(got[~later]) == {None}
    orientation = np.asarray(cols["orientation"], dtype=object)
    assert set(orientation[later]) == {0} and set(orientation[~later]) == {None}
    got_inventory = [dict(m) for m in cols["inventory"]]
    assert got_inventory == inventories(truth["inventory"], meta["resource_names"])
    assert cols["vibe_id"] == list(by_row(truth["vibe"]))
    assert cols["vibe_name"] == [meta["vibe_names"][v] for v in by_row(truth["vibe"])]
    sources = np.asarray(cols["state_source"])
    assert set(sources[~later]) == {"configured"} and set(sources[later]) == {"recorded"}

    # The action of the step: the one the simulator executed, its success and reward.
    executed = by_row(truth["executed"])
    assert cols["action_id"] == list(executed)
    assert cols["action_name"] == [meta["action_names"][a] for a in executed]
    assert set(cols["action_param"]) == {0}
    assert cols["action_success"] == list(by_row(truth["success"]))
    assert np.array_equal(np.asarray(cols["reward"], np.float32), by_row(truth["reward"]))
    assert np.allclose(cols["total_reward"], by_row(truth["total_reward"]), atol=1e-4)
    assert by_row(truth["reward"]).any()  # rewards happen, so the comparison means something
    assert cols["agent_policy"] == [TEAM_POLICIES[g] for g in by_row(truth["group"])]


@pytest.mark.parametrize(
    "name", [n for n, s in BY_NAME.items() if s.per_agent and len(s.teams) > 1]
)
def test_step_0_is_not_game_agents_by_agent_id(episodes, name):
    """The rule this replaces read `game.agents[agent_id]`: on these episodes it gives most
    agents another agent's configuration, so the comparison above can tell the two apart."""
    data, table, meta, truth = parsed(episodes, name)
    game = json.loads(decompress(data))["mg_config"]["game"]
    by_id = [
        {k: v for k, v in game["agents"][a]["inventory"]["initial"].items() if v}
        for a in range(BY_NAME[name].num_agents)
    ]
    simulator = inventories(truth["inventory"][:1], meta["resource_names"])
    wrong = sum(a != s for a, s in zip(by_id, simulator, strict=True))
    assert wrong >= len(simulator) // 2
    start = table.filter(pa.compute.equal(table["step"], 0))
    assert [dict(m) for m in start["inventory"].to_pylist()] == simulator


def test_a_failed_move_is_written_as_noop(episodes):
    """The writer records the action the simulator executed: a move that fails is recorded as
    action 0, `noop`, unsuccessful; the move that was asked for is not in the replay."""
    failed_moves = failed_noops = rows = 0
    for name in BY_NAME:
        _, table, meta, truth = parsed(episodes, name)
        asked = by_row(truth["asked"])
        move = np.isin(
            asked, [i for i, n in enumerate(meta["action_names"]) if n.startswith("move_")]
        )
        success = np.asarray(table["action_success"].to_pylist())
        names = np.asarray(table["action_name"].to_pylist())
        failed = move & ~success
        assert set(names[failed]) == {"noop"}
        # Every unsuccessful noop in the data is such a move: a real noop succeeds.
        assert np.array_equal((names == "noop") & ~success, failed)
        failed_moves += int(failed.sum())
        failed_noops += int(((names == "noop") & ~success).sum())
        rows += len(table)
    assert failed_moves == failed_noops > 0
    print(f"{failed_noops / rows:.1%} of alive rows read as a failed noop ({failed_noops}/{rows})")


def test_the_episodes_are_deterministic(episodes, tmp_path):
    """Seeded: a second play of one episode writes the same replay, byte for byte (up to the
    episode id the writer draws), so the tests compare the same data every run."""
    again = play_episodes(["small_window"], cache_dir=tmp_path)
    name = BY_NAME["small_window"].file_name
    first = json.loads(zlib.decompress((episodes / name).read_bytes()))
    second = json.loads(zlib.decompress((again / name).read_bytes()))
    assert first == second
