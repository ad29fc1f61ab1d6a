"""Seeded episodes of the real simulator (mettagrid, the `simulator` dependency group), each
written by mettagrid's own `ReplayLogWriter`, with the simulator's own state beside it.

This module runs in two environments. In the simulator's own (`uv run --locked --only-group
simulator`, a separate virtual environment so the project's never changes) it plays the
episodes: `python -m sandboxes.mettagrid_simulator OUT_DIR [NAME ...]`. For each configuration it
writes `<NAME>.json.z` or `.json.gz` (the replay, byte for byte what the writer wrote) and
`<NAME>.truth.npz`: per step t and agent, the state the agent acted from (before action t), the
action it asked for, the action the simulator executed, success, reward, and the observation it
received (`Simulation._c_sim.observations()`, the raw token array). In the project's environment
`play_episodes()` runs that command and caches what it wrote; nothing here imports mettagrid there.

Top-level imports are the standard library and numpy only, which both environments have.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

METTAGRID_VERSION = "0.26.22"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO_ROOT / "data" / "mettagrid_simulator"
VENV_DIR = REPO_ROOT / "data" / "venv-simulator"


@dataclass(frozen=True)
class EpisodeSpec:
    """One seeded episode: who plays, on what map, for how long, how the replay is compressed."""

    name: str
    seed: int
    teams: tuple[int, ...]  # agents per team; per-agent configurations when `per_agent`
    per_agent: bool
    width: int
    height: int
    steps: int
    walls: int = 0
    mines: int = 0  # objects that give ore when used and vanish when empty
    altars: int = 0  # objects that turn ore into a heart (the reward)
    obs_size: int = 13
    num_tokens: int = 200
    compression: str = "zlib"
    vibes: int = 6  # change_vibe actions offered

    @property
    def num_agents(self) -> int:
        return sum(self.teams)

    @property
    def file_name(self) -> str:
        return self.name + (".json.gz" if self.compression == "gzip" else ".json.z")


# The configurations the tests and the cross-check play. Two or three teams of per-agent
# configurations interleaved in `game.agents` (the case where `agents[agent_id]` is the wrong
# configuration), one team on `game.agent` alone, a crowded map where most moves fail, a
# small observation window.
EPISODES = (
    EpisodeSpec("two_teams", seed=11, teams=(6, 5), per_agent=True, width=18, height=14,
                steps=150, walls=20, mines=8, altars=2),
    EpisodeSpec("one_team_default_agent", seed=12, teams=(4,), per_agent=False, width=12,
                height=10, steps=120, walls=6, mines=6, altars=4, compression="gzip"),
    EpisodeSpec("three_teams_large", seed=13, teams=(8, 7, 9), per_agent=True, width=40,
                height=30, steps=200, walls=120, mines=30, altars=4, obs_size=11),
    EpisodeSpec("crowded_failed_moves", seed=14, teams=(5, 4), per_agent=True, width=7,
                height=7, steps=80, walls=2, mines=3, altars=1, compression="gzip"),
    EpisodeSpec("small_window", seed=15, teams=(7,), per_agent=True, width=14, height=12,
                steps=60, walls=10, mines=12, altars=2, obs_size=7, num_tokens=100),
)  # fmt: skip
# The stats-server sandbox's pool (sandboxes/mettagrid_pool/, shipped: a few hundred KB): the
# version-4 episodes it serves from the real writer. Regenerate with
# `UV_PROJECT_ENVIRONMENT=data/venv-simulator uv run --locked --only-group simulator
# python -m sandboxes.mettagrid_simulator --pool sandboxes/mettagrid_pool`.
POOL = (
    EpisodeSpec("pool_two_teams", seed=101, teams=(3, 3), per_agent=True, width=20, height=16,
                steps=200, walls=30, mines=10, altars=3),
    EpisodeSpec("pool_one_team", seed=102, teams=(4,), per_agent=False, width=14, height=12,
                steps=150, walls=12, mines=6, altars=2, compression="gzip"),
    EpisodeSpec("pool_big_map", seed=103, teams=(5, 5), per_agent=True, width=32, height=24,
                steps=250, walls=90, mines=24, altars=4),
    EpisodeSpec("pool_three_teams", seed=104, teams=(2, 2, 2), per_agent=True, width=16,
                height=16, steps=120, walls=20, mines=8, altars=2, obs_size=11),
    EpisodeSpec("pool_long", seed=105, teams=(6,), per_agent=True, width=24, height=18,
                steps=300, walls=40, mines=14, altars=3, compression="gzip"),
    EpisodeSpec("pool_crowded", seed=106, teams=(4, 4), per_agent=True, width=12, height=12,
                steps=180, walls=10, mines=6, altars=2),
)  # fmt: skip
BY_NAME = {spec.name: spec for spec in EPISODES}  # the tests' and the cross-check's
PLAYABLE = {spec.name: spec for spec in EPISODES + POOL}
TEAM_POLICIES = ("red_policy", "blue_policy", "green_policy")


# --- in the simulator's environment ---------------------------------------------------------------


def build_config(spec: EpisodeSpec):
    """The MettaGridConfig of one episode."""
    from mettagrid.config.filter import actorHas
    from mettagrid.config.game_value import InventoryValue
    from mettagrid.config.handler_config import Handler
    from mettagrid.config.mettagrid_config import (
        ActionsConfig,
        AgentConfig,
        ChangeVibeActionConfig,
        GameConfig,
        GridObjectConfig,
        InventoryConfig,
        MettaGridConfig,
        MoveActionConfig,
        NoopActionConfig,
        WallConfig,
    )
    from mettagrid.config.mutation import updateActor, withdraw
    from mettagrid.config.obs_config import ObsConfig
    from mettagrid.config.reward_config import reward
    from mettagrid.config.vibes import VIBES
    from mettagrid.map_builder.random_map import RandomMapBuilder

    resources = ["ore_red", "ore_blue", "battery_red", "heart"]
    team_names = ("red", "blue", "green")
    rewards = {"heart": reward(InventoryValue(item="heart"))}

    def agent(team: int, k: int) -> AgentConfig:
        # Each agent its own initial inventory and vibe, so taking another agent's shows.
        return AgentConfig(
            team_id=team,
            vibe=(3 * team + k) % spec.vibes,
            inventory=InventoryConfig(
                default_limit=50,
                initial={"ore_red": 1 + k, "battery_red": 10 * (team + 1) + k},
            ),
            rewards=rewards,
        )

    if spec.per_agent:
        # Interleaved as a mixed roster would be: team 0, 1, 2, 0, 1, 2, ... while agents last.
        remaining = list(spec.teams)
        agents, counters = [], [0] * len(spec.teams)
        while any(remaining):
            for team, left in enumerate(remaining):
                if left:
                    agents.append(agent(team, counters[team]))
                    counters[team] += 1
                    remaining[team] -= 1
        default_agent = AgentConfig(rewards=rewards)
    else:
        agents = []
        default_agent = AgentConfig(
            vibe=2,
            inventory=InventoryConfig(default_limit=50, initial={"ore_red": 2, "ore_blue": 3}),
            rewards=rewards,
        )
    objects = {
        "wall": WallConfig(),
        "mine": GridObjectConfig(
            name="mine",
            inventory=InventoryConfig(initial={"ore_red": 3}),
            on_use_handler=Handler(mutations=[withdraw({"ore_red": 1}, remove_when_empty=True)]),
        ),
        "altar": GridObjectConfig(
            name="altar",
            on_use_handler=Handler(
                filters=[actorHas({"ore_red": 2})],
                mutations=[updateActor({"ore_red": -2, "heart": 1})],
            ),
        ),
    }
    map_agents = (
        {team_names[t]: n for t, n in enumerate(spec.teams)} if spec.per_agent else spec.num_agents
    )
    return MettaGridConfig(
        label=spec.name,
        game=GameConfig(
            num_agents=spec.num_agents,
            max_steps=spec.steps,
            resource_names=resources,
            obs=ObsConfig(width=spec.obs_size, height=spec.obs_size, num_tokens=spec.num_tokens),
            actions=ActionsConfig(
                noop=NoopActionConfig(),
                move=MoveActionConfig(),
                change_vibe=ChangeVibeActionConfig(vibes=list(VIBES[: spec.vibes])),
            ),
            agent=default_agent,
            agents=agents,
            objects=objects,
            map_builder=RandomMapBuilder.Config(
                seed=spec.seed,
                width=spec.width,
                height=spec.height,
                border_width=1,
                agents=map_agents,
                objects={"wall": spec.walls, "mine": spec.mines, "altar": spec.altars},
            ),
        ),
    )


def _agents_state(sim, resource_count: int) -> dict[int, dict]:
    state = {}
    for obj in sim.grid_objects(ignore_types=["wall"]).values():
        if "agent_id" not in obj:
            continue
        inventory = np.zeros(resource_count, dtype=np.int32)
        for item, count in obj.get("inventory", {}).items():
            inventory[int(item)] = count
        state[int(obj["agent_id"])] = {
            "x": int(obj["location"][0]),
            "y": int(obj["location"][1]),
            "inventory": inventory,
            "vibe": int(obj.get("vibe", 0)),
            "group": int(obj["group_id"]),
            "executed": int(obj.get("last_action_id", -1)),
        }
    return state


def play(spec: EpisodeSpec, out_dir: Path) -> None:
    """Play one episode; write its replay and its truth file into `out_dir`."""
    import tempfile

    from mettagrid.simulator.replay_log_writer import ReplayLogWriter
    from mettagrid.simulator.simulator import Simulator

    config = build_config(spec)
    with tempfile.TemporaryDirectory() as replay_dir:
        writer = ReplayLogWriter(replay_dir)
        simulator = Simulator()
        simulator.add_event_handler(writer)
        sim = simulator.new_simulation(config, seed=spec.seed)
        names = sim.action_names
        moves = [i for i, n in enumerate(names) if n.startswith("move_")]
        vibes = [i for i, n in enumerate(names) if n.startswith("change_vibe_")]
        rng = np.random.default_rng(spec.seed)
        n_agents, steps, n_res = spec.num_agents, spec.steps, len(sim.resource_names)
        truth = {
            "x": np.zeros((steps, n_agents), np.int32),
            "y": np.zeros((steps, n_agents), np.int32),
            "inventory": np.zeros((steps, n_agents, n_res), np.int32),
            "vibe": np.zeros((steps, n_agents), np.int32),
            "group": np.zeros((steps, n_agents), np.int32),
            "asked": np.zeros((steps, n_agents), np.int32),
            "executed": np.zeros((steps, n_agents), np.int32),
            "success": np.zeros((steps, n_agents), bool),
            "reward": np.zeros((steps, n_agents), np.float32),
            "total_reward": np.zeros((steps, n_agents), np.float32),
            "observations": np.zeros((steps, n_agents, spec.num_tokens, 3), np.uint8),
        }
        group_policy = {}
        step = 0
        while not sim.is_done():
            before = _agents_state(sim, n_res)
            truth["observations"][step] = np.asarray(sim._c_sim.observations())
            for agent_id, s in before.items():
                for key in ("x", "y", "inventory", "vibe", "group"):
                    truth[key][step, agent_id] = s[key]
                group_policy[agent_id] = TEAM_POLICIES[s["group"] % len(TEAM_POLICIES)]
            # What a runner does: each agent's policy named in policy_infos, for the replay.
            sim._context["policy_infos"] = {
                a: {"policy_name": group_policy[a], "message": f"step {step}"} for a in before
            }
            kind = rng.random(n_agents)
            asked = np.where(
                kind < 0.1,
                0,  # noop
                np.where(
                    kind < 0.85,
                    rng.choice(moves, n_agents),
                    rng.choice(vibes, n_agents),
                ),
            )
            for agent in sim.agents():
                agent.set_action(names[int(asked[agent.id])])
            sim.step()
            after = _agents_state(sim, n_res)
            truth["asked"][step] = asked
            truth["executed"][step] = [after[a]["executed"] for a in range(n_agents)]
            truth["success"][step] = np.asarray(sim.action_success, bool)
            truth["reward"][step] = np.asarray(sim._c_sim.rewards())
            truth["total_reward"][step] = np.asarray(sim.episode_rewards)
            step += 1
        if step != steps:
            raise RuntimeError(f"{spec.name}: the episode ran {step} steps, not {steps}")
        (path,) = writer.get_written_replay_paths()
        data = Path(path).read_bytes()
        if spec.compression == "gzip":
            # What the writer writes for a `.json.gz` name: the same JSON, gzip.compress'd.
            # (Writing the episode a second time would trim its change lists twice.)
            data = gzip.compress(zlib.decompress(data), mtime=0)  # mtime 0: the same bytes each run
        (out_dir / spec.file_name).write_bytes(data)
        meta = {
            "mettagrid": METTAGRID_VERSION,
            "spec": spec.__dict__,
            "action_names": names,
            "resource_names": list(sim.resource_names),
            "vibe_names": list(config.game.vibe_names),
            "features": {f.id: f.name for f in sim.features},
            "obs_size": [int(sim._c_sim.obs_height), int(sim._c_sim.obs_width)],
        }
        np.savez_compressed(out_dir / f"{spec.name}.truth.npz", meta=json.dumps(meta), **truth)
        sim.close()


def main(argv: list[str]) -> int:
    pool = argv[:1] == ["--pool"]
    out_dir = Path(argv[1 if pool else 0])
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [spec.name for spec in POOL] if pool else argv[1:] or [s.name for s in EPISODES]
    for name in names:
        play(PLAYABLE[name], out_dir)
        if pool:  # the sandbox ships the replays alone
            (out_dir / f"{name}.truth.npz").unlink()
    return 0


# --- in the project's environment ---------------------------------------------------------------


def _fingerprint() -> str:
    """Changes when this module (the configurations, the policy) or the simulator's version does."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16] + "-" + METTAGRID_VERSION


def _uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    if not Path(found).exists():
        raise RuntimeError(
            "uv is not installed: the real simulator runs with `uv run --locked --only-group "
            "simulator` (bin/test installs uv)"
        )
    return found


def play_episodes(names: list[str] | None = None, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """Play the episodes named (all by default) in the simulator's own environment, once: the
    folder they are in is kept per fingerprint of this module and the simulator's version."""
    names = list(names or [spec.name for spec in EPISODES])
    folder = Path(cache_dir) / _fingerprint()
    missing = [n for n in names if not (folder / f"{n}.truth.npz").exists()]
    if missing:
        staging = folder.with_name(folder.name + f".tmp{os.getpid()}")
        staging.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(VENV_DIR))
        env.pop("VIRTUAL_ENV", None)
        done = subprocess.run(
            [_uv(), "run", "--locked", "--only-group", "simulator", "--directory", str(REPO_ROOT),
             "python", "-m", "sandboxes.mettagrid_simulator", str(staging), *missing],
            env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(
                f"the simulator failed (exit {done.returncode}):\n{done.stderr[-4000:]}"
            )
        folder.mkdir(parents=True, exist_ok=True)
        for produced in staging.iterdir():
            os.replace(produced, folder / produced.name)  # whole files only, never half of one
        staging.rmdir()
        for stale in folder.parent.iterdir():  # episodes of an older module or simulator
            if stale != folder and ".tmp" not in stale.name:
                shutil.rmtree(stale, ignore_errors=True)
    return folder


def load_truth(folder: Path, name: str) -> tuple[dict, dict[str, np.ndarray]]:
    """(meta, arrays) of one episode's truth file."""
    with np.load(Path(folder) / f"{name}.truth.npz") as data:
        arrays = {key: data[key] for key in data.files if key != "meta"}
        meta = json.loads(str(data["meta"]))
    return meta, arrays


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
