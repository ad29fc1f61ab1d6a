"""Observations rebuilt from replays equal the real simulator's own, token by token.

The episodes are played by mettagrid itself (sandboxes/mettagrid_simulator.py, its own
environment) and the observation each agent received before each action is kept from
`Simulation._c_sim.observations()`; the replay its ReplayLogWriter wrote is rebuilt here.
"""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from assets.replay_mining.mettagrid import ReplayError, decompress
from assets.replay_mining.observations import (
    OBSERVATION_SCHEMA,
    ObservationsUnavailable,
    observation_offsets,
    rebuild_observations,
)
from sandboxes.mettagrid_replays import encode_replay, generate_replay
from sandboxes.mettagrid_simulator import BY_NAME, load_truth, play_episodes


@pytest.fixture(scope="module")
def episodes():
    return play_episodes()


def simulator_tokens(observation: np.ndarray) -> list[tuple]:
    return [tuple(int(v) for v in token) for token in observation if token[0] != 0xFF]


def tokens_of(value: bytes) -> list[tuple]:
    return [tuple(t) for t in np.frombuffer(value, np.uint8).reshape(-1, 3).tolist()]


@pytest.mark.parametrize("name", list(BY_NAME))
def test_every_token_of_every_agent_step_equals_the_simulators(episodes, name):
    spec = BY_NAME[name]
    meta, truth = load_truth(episodes, name)
    rebuilt = rebuild_observations((episodes / spec.file_name).read_bytes(), name)
    table = rebuilt.table
    assert table.schema.equals(OBSERVATION_SCHEMA)
    assert rebuilt.not_rebuilt == {}  # these configurations turn on nothing the replay lacks
    observations = table.column("observation").to_pylist()
    sources = table.column("obs_source").to_pylist()
    spatial = global_ = 0
    for agent in range(spec.num_agents):
        for step in range(spec.steps):
            row = agent * spec.steps + step
            if step == 0:  # nothing is recorded before action 0
                assert observations[row] is None and sources[row] == "unrecorded"
                continue
            want = simulator_tokens(truth["observations"][step, agent])
            assert tokens_of(observations[row]) == want, (agent, step)
            assert sources[row] == "rebuilt"
            global_ += sum(t[0] == 0xFE for t in want)
            spatial += sum(t[0] != 0xFE for t in want)
    # The windows hold more than the agent itself: walls, buildings, other agents.
    assert spatial > 8 * spec.num_agents * (spec.steps - 1)
    assert global_ == 3 * spec.num_agents * (spec.steps - 1)
    # The action beside each observation is the one the simulator executed at that step.
    executed = np.swapaxes(truth["executed"], 0, 1).reshape(-1)
    assert table.column("action_id").to_pylist() == list(executed)
    features = {f["id"]: f["name"] for f in json.loads(table.column("obs_features")[0].as_py())}
    assert features == {int(k): v for k, v in meta["features"].items()}
    assert table.column("obs_height")[0].as_py() == spec.obs_size


def test_the_window_order_is_the_simulators():
    # Manhattan shells; within a shell rows from -d to +d, the left cell before the right;
    # the window is a disc (a 3x3 window is a plus), from radius 2 with the cells beside its tips.
    assert observation_offsets(3, 3).tolist() == [[0, 0], [-1, 0], [0, -1], [0, 1], [1, 0]]
    five = {tuple(o) for o in observation_offsets(5, 5)}
    assert (2, 2) not in five and (2, 1) in five and (1, 1) in five and len(five) == 21


def test_what_a_configuration_turns_on_but_the_replay_lacks_is_named(episodes):
    name = "small_window"
    data = (episodes / BY_NAME[name].file_name).read_bytes()
    replay = json.loads(decompress(data))
    replay["mg_config"]["game"]["obs"]["global_obs"]["local_position"] = True
    rebuilt = rebuild_observations(zlib.compress(json.dumps(replay).encode()), name)
    assert "lp:east/west/north/south" in rebuilt.not_rebuilt
    # Vision blocked by walls changes which cells were seen: refused, not guessed.
    replay["mg_config"]["game"]["objects"]["wall"]["blocks_vision"] = True
    with pytest.raises(ObservationsUnavailable, match="block vision"):
        rebuild_observations(zlib.compress(json.dumps(replay).encode()), name)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_older_versions_do_not_carry_the_encoding(version):
    data = encode_replay(generate_replay("old", 2, 2, 20, 30, version=version))
    with pytest.raises(ObservationsUnavailable, match=f"version-{version}"):
        rebuild_observations(data, "old")


def test_a_damaged_replay_is_a_replay_error():
    with pytest.raises(ReplayError):
        rebuild_observations(zlib.compress(b'{"version": 4, "objects": 3}'), "bad")
