"""Deterministic, realistic mettagrid replays (format version 2) for the stats-server sandbox.

A replay is a function of its episode id: the same id always gives the same bytes. Agents walk a
walled map, mine ore, make batteries and hearts, and the changing values are recorded as
`[step, value]` change lists, as the simulator writes them.
"""

from __future__ import annotations

import hashlib
import json
import zlib

import numpy as np

ACTION_NAMES = [
    "noop",
    "move",
    "rotate",
    "attack",
    "get_items",
    "put_items",
    "change_color",
    "swap",
]
ITEM_NAMES = ["ore_red", "ore_blue", "ore_green", "battery", "heart", "armor", "laser", "blueprint"]
TYPE_NAMES = ["agent", "wall", "mine_red", "mine_blue", "mine_green", "generator", "altar"]
# How often a policy picks each action: mostly moving and collecting, some fighting.
ACTION_WEIGHTS = np.array([0.08, 0.42, 0.14, 0.04, 0.14, 0.1, 0.03, 0.05])
MOVES = [(0, -1), (0, 1), (-1, 0), (1, 0)]  # by orientation: up, down, left, right


def seed_of(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def _changes(values) -> list:
    """Compress a per-step series into [step, value] changes."""
    out = []
    last = object()
    for step, value in enumerate(values):
        if value != last:
            out.append([step, value])
            last = value
    return out


def generate_replay(
    episode_id: str,
    min_agents: int = 4,
    max_agents: int = 24,
    min_steps: int = 200,
    max_steps: int = 1000,
) -> dict:
    rng = np.random.default_rng(seed_of(episode_id))
    num_agents = int(rng.integers(min_agents, max_agents + 1))
    steps = int(rng.integers(min_steps, max_steps + 1))
    width, height = int(rng.integers(20, 80)), int(rng.integers(20, 80))
    objects = []
    next_id = 1
    for x in range(width):  # the outer wall
        for y in (0, height - 1):
            objects.append(
                {
                    "id": next_id,
                    "type_name": "wall",
                    "location": [x, y],
                    "orientation": 0,
                    "inventory": [],
                    "inventory_max": 0,
                    "color": 0,
                }
            )
            next_id += 1
    for kind in TYPE_NAMES[2:]:
        for _ in range(int(rng.integers(1, 4))):
            x, y = int(rng.integers(1, width - 1)), int(rng.integers(1, height - 1))
            objects.append(
                {
                    "id": next_id,
                    "type_name": kind,
                    "location": [x, y],
                    "orientation": 0,
                    "inventory": [[0, 1]] if kind.startswith("mine") else [],
                    "inventory_max": 50,
                    "color": 0,
                }
            )
            next_id += 1

    for agent_id in range(num_agents):
        x, y = int(rng.integers(1, width - 1)), int(rng.integers(1, height - 1))
        orientation = int(rng.integers(0, 4))
        inventory = {}
        actions = rng.choice(len(ACTION_NAMES), size=steps, p=ACTION_WEIGHTS)
        params = rng.integers(0, 4, size=steps)
        luck = rng.random(size=steps)
        locs, orients, invs, succ, rewards, totals = [], [], [], [], [], []
        total = 0.0
        for t in range(steps):
            action, param = int(actions[t]), int(params[t])
            ok = True
            reward = 0.0
            if action == 1:  # move forward if the cell is inside the walls
                dx, dy = MOVES[orientation]
                nx, ny = x + dx, y + dy
                ok = 0 < nx < width - 1 and 0 < ny < height - 1
                if ok:
                    x, y = nx, ny
            elif action == 2:
                orientation = param
            elif action == 4:  # mine or collect
                ok = luck[t] < 0.6
                if ok:
                    item = int(rng.integers(0, 3))
                    inventory[item] = inventory.get(item, 0) + 1
            elif action == 5:  # convert ore to a battery, batteries to a heart
                if inventory.get(3, 0) >= 2:
                    inventory[3] -= 2
                    inventory[4] = inventory.get(4, 0) + 1
                    reward = 1.0
                elif sum(inventory.get(i, 0) for i in range(3)) >= 3:
                    for i in range(3):
                        inventory.pop(i, None)
                    inventory[3] = inventory.get(3, 0) + 1
                    reward = 0.1
                else:
                    ok = False
            elif action == 3:
                ok = luck[t] < 0.3
            elif action == 0:
                ok = True
            else:
                ok = luck[t] < 0.8
            inventory = {k: v for k, v in inventory.items() if v > 0}
            total = round(total + reward, 4)
            locs.append([x, y])
            orients.append(orientation)
            invs.append(sorted([k, v] for k, v in inventory.items()))
            succ.append(bool(ok))
            rewards.append(reward)
            totals.append(total)
        objects.append(
            {
                "id": next_id,
                "type_name": "agent",
                "agent_id": agent_id,
                "is_agent": True,
                "group_id": agent_id % 2,
                "vision_size": 11,
                "location": _changes(locs),
                "orientation": _changes(orients),
                "inventory": _changes(invs),
                "inventory_max": 100,
                "color": 0,
                "action_id": _changes([int(a) for a in actions]),
                "action_param": _changes([int(p) for p in params]),
                "action_success": _changes(succ),
                "current_reward": _changes(rewards),
                "total_reward": _changes(totals),
                "freeze_remaining": 0,
                "is_frozen": False,
                "freeze_duration": 10,
            }
        )
        next_id += 1
    return {
        "version": 2,
        "num_agents": num_agents,
        "max_steps": steps,
        "map_size": [width, height],
        "action_names": ACTION_NAMES,
        "item_names": ITEM_NAMES,
        "type_names": TYPE_NAMES,
        "mg_config": {"game": {"num_agents": num_agents, "max_steps": steps}},
        "objects": objects,
    }


def encode_replay(replay: dict) -> bytes:
    return zlib.compress(json.dumps(replay, separators=(",", ":")).encode(), 6)
