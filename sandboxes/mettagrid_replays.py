"""Deterministic, realistic mettagrid replays of format versions 1 to 4 for the stats-server sandbox.

A replay is a function of its episode id and version: the same pair always gives the same bytes.
Agents walk a walled map, mine resources and carry them to a hub, and every changing value is
recorded as `[step, value]` changes the way the simulator's writer of that version wrote them
(shared/reference/replay_mining.md; compared key by key with real replays of each version):

- every version records *after* each step's action: record t holds action t and the state it led
  to, and nothing is recorded before action 0 (the configured initial inventory is in `mg_config`);
- version 1: `grid_objects` with `r`/`c`, `agent:*` keys, one `agent:inv:<item>` per item,
  `action` as `[id, param]` changes, `inventory_items`, `object_types`;
- version 2: `objects` with `location`, `inventory` pairs, `action_id`/`action_param`, freeze keys;
- version 3: version 2 plus `vibe_id`/`vibe`, `collective_id`, move_<direction>/change_vibe_<name>
  actions, inventories in hash-map order, untyped `0` placeholders for late keys;
- version 4 (today's writer): `alive`, `tag_ids`, `inventory_capacities`, `animation_id`,
  `policy_infos` (policy name and a free-text message), `monologue_*`, no freeze keys; top-level
  `animation_names`, `capacity_names`, `tags`, `policy_env_interface`, `infos`; sorted inventories
  on most replays; typed placeholders; some episodes with an agent that joins late or leaves.

A value that never changes is written bare (the writer collapses one-entry change lists), so an
agent whose inventory never changes has a constant inventory that looks like a change list.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib

import numpy as np

VIBE_NAMES = ["default", "heart", "gear", "miner", "scout", "aligner"]
ITEMS_V3 = ["energy", "heart", "hp", "carbon", "oxygen", "germanium", "silicon", "miner", "scout"]
ORES = [3, 4, 5, 6]  # carbon ... silicon in ITEMS_V3
ACTIONS_V3 = ["noop", "move_north", "move_south", "move_west", "move_east"] + [
    f"change_vibe_{v}" for v in VIBE_NAMES
]
TYPES_V3 = ["agent", "wall", "hub", "carbon_extractor", "oxygen_extractor", "germanium_extractor"]
TYPES_V3 += ["silicon_extractor", "junction", "chest"]
ITEMS_V2 = ["ore_red", "ore_blue", "ore_green", "battery", "heart", "armor", "laser", "blueprint"]
ACTIONS_V2 = ["noop", "move", "rotate", "attack", "get_items", "put_items", "change_color", "swap"]
TYPES_V2 = ["agent", "wall", "mine_red", "mine_blue", "mine_green", "generator", "altar"]
ITEMS_V1 = ["ore.red", "ore.blue", "ore.green", "battery", "heart", "armor", "laser", "blueprint"]
ACTIONS_V1 = ["put_recipe_items", "get_output", "noop", "move", "rotate", "attack"]
ACTIONS_V1 += ["attack_nearest", "swap", "change_color"]
TYPES_V1 = ["agent", "wall", "mine", "generator", "altar", "armory", "lasery", "lab", "factory"]
TYPES_V1 += ["temple", "converter"]
TEAM_POLICIES = ["scripted_baseline", "random_walk"]  # the second team's policy in v4 episodes
MESSAGES = ["exploring", "heading to {ore} at ({x}, {y})", "carrying {ore} to the hub", "waiting"]
CARDINAL = [(0, -1), (0, 1), (-1, 0), (1, 0)]  # north, south, west, east
FORWARD = [(0, -1), (0, 1), (-1, 0), (1, 0)]  # by orientation (v1, v2): up, down, left, right


def seed_of(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def _changes(values: list, start: int = 0, placeholder=None) -> object:
    """A per-step series as the writer stores it: [step, value] changes, a bare value when it
    never changes, `[[0, placeholder], [start, ...]]` for a key that first appears at `start`."""
    out = [] if start == 0 else [[0, placeholder]]
    last = object()
    for step, value in enumerate(values, start):
        if value != last:
            out.append([step, value])
            last = value
    return out[0][1] if len(out) == 1 else out


def _simulate(rng, agents: int, steps: int, width: int, height: int, style: str) -> list[dict]:
    """Per agent, per step: the state after each action. `style` is "rotate" (move forward,
    rotate: versions 1 and 2) or "cardinal" (move_<direction>, change_vibe: versions 3 and 4)."""
    out = []
    for _ in range(agents):
        x, y = int(rng.integers(1, width - 1)), int(rng.integers(1, height - 1))
        orientation, vibe = 0, 0
        if style == "cardinal":
            inventory = {0: 100, 2: 100}  # energy, hp: the configured initial inventory
            weights = [0.1, 0.2, 0.2, 0.2, 0.2] + [0.1 / len(VIBE_NAMES)] * len(VIBE_NAMES)
        else:
            inventory = {}
            weights = [0.08, 0.42, 0.14, 0.04, 0.14, 0.1, 0.03, 0.05]
        actions = rng.choice(len(weights), size=steps, p=weights)
        params = rng.integers(0, 4, size=steps)
        luck = rng.random(size=steps)
        record = {k: [] for k in ("xy", "orientation", "inventory", "action", "param", "success")}
        record.update({k: [] for k in ("reward", "total", "vibe", "bump", "message")})
        total, message, target = 0.0, "exploring", (x, y)
        for t in range(steps):
            action, param, ok, reward = int(actions[t]), int(params[t]), True, 0.0
            if style == "cardinal":
                param = 0
                if 1 <= action <= 4:
                    dx, dy = CARDINAL[action - 1]
                    ok = (
                        0 < x + dx < width - 1
                        and 0 < y + dy < height - 1
                        and inventory.get(0, 0) > 0
                    )
                    if ok:
                        x, y = x + dx, y + dy
                        inventory[0] = inventory.get(0, 0) - 1
                        if luck[t] < 0.08:  # stepped onto an extractor
                            ore = ORES[int(luck[t] * 1000) % 4]
                            inventory[ore] = inventory.get(ore, 0) + 1
                            target = (x + 5, y)
                            message = MESSAGES[2].format(ore=ITEMS_V3[ore], x=x, y=y)
                elif action == 0:
                    inventory[0] = min(100, inventory.get(0, 0) + 2)
                    if sum(inventory.get(o, 0) for o in ORES) >= 4:  # delivered at the hub
                        for o in ORES:
                            inventory.pop(o, None)
                        inventory[1] = inventory.get(1, 0) + 1
                        reward = 1.0
                        message = "exploring"
                else:
                    vibe = action - 5
                if luck[t] > 0.97:
                    target = (int(luck[t] * 997) % width, int(luck[t] * 991) % height)
                    message = MESSAGES[1].format(
                        ore=ITEMS_V3[ORES[t % 4]], x=target[0], y=target[1]
                    )
            else:
                if action == 1:  # move forward if the cell is inside the walls
                    dx, dy = FORWARD[orientation]
                    ok = 0 < x + dx < width - 1 and 0 < y + dy < height - 1
                    if ok:
                        x, y = x + dx, y + dy
                elif action == 2:
                    orientation = param
                elif action == 4:  # mine or collect
                    ok = luck[t] < 0.6
                    if ok:
                        item = int(rng.integers(0, 3))
                        inventory[item] = inventory.get(item, 0) + 1
                elif action == 5:  # ore to a battery, batteries to a heart
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
                elif action != 0:
                    ok = luck[t] < 0.8
            inventory = {k: v for k, v in inventory.items() if v > 0}
            total = round(total + reward, 4)
            record["xy"].append([x, y])
            record["orientation"].append(orientation)
            record["inventory"].append(dict(inventory))
            record["action"].append(action)
            record["param"].append(param)
            record["success"].append(bool(ok))
            record["reward"].append(reward)
            record["total"].append(total)
            record["vibe"].append(vibe)
            record["bump"].append(0 if ok else 1)
            record["message"].append(message)
        out.append(record)
    return out


# Keys built per step above; every other key of a late object is wrapped as [[0, default], [k, v]].
SERIES_KEYS = {"alive", "location", "inventory", "action_id", "action_param", "action_success"}
SERIES_KEYS |= {"animation_id", "current_reward", "total_reward", "vibe_id", "vibe"}
SERIES_KEYS |= {"policy_infos", "inventory_capacities"}


def _default_for(value):
    """The writer's placeholder for a key an object did not have yet (`_default_for`: a bool is
    an int there, so it gets 0)."""
    if isinstance(value, list):
        return []
    if isinstance(value, int):
        return 0
    if isinstance(value, float):
        return 0.0
    return ""


def _pairs(inventory: dict, order: str) -> list:
    """Inventory pairs: sorted by item id, or in the hash-map order older writers used."""
    pairs = [[k, v] for k, v in inventory.items()]
    if order == "sorted":
        return sorted(pairs)
    return sorted(pairs, key=lambda p: (p[0] * 7919) % 13)  # a fixed, unsorted order


def generate_replay(
    episode_id: str,
    min_agents: int = 4,
    max_agents: int = 24,
    min_steps: int = 200,
    max_steps: int = 1000,
    version: int = 4,
    policy: str | None = None,
) -> dict:
    rng = np.random.default_rng(seed_of(f"{episode_id}/{version}"))
    agents = int(rng.integers(min_agents, max_agents + 1))
    steps = int(rng.integers(min_steps, max_steps + 1))
    width, height = int(rng.integers(40, 120)), int(rng.integers(40, 120))
    style = "cardinal" if version >= 3 else "rotate"
    records = _simulate(rng, agents, steps, width, height, style)
    walls = _walls(rng, width, height, records)
    if version == 1:
        return _version_1(rng, records, agents, steps, width, height, walls)
    return _version_2_to_4(rng, records, agents, steps, width, height, version, policy, walls)


# Real maps are mazes and rooms: walls are 20-45% of the cells (3,334 of 98 x 98 in a real
# version-4 replay, 19,360 of 210 x 210 in a version-2 one), and buildings about 1-3%.
WALL_SHARE = 0.3
BUILDING_SHARE = 0.004  # per building type


def _walls(rng, width: int, height: int, records: list[dict]) -> list[tuple[int, int]]:
    """The border, and inner walls on cells no agent ever stands on (agents never walk
    through walls)."""
    border = [(x, y) for x in range(width) for y in (0, height - 1)] + [
        (x, y) for x in (0, width - 1) for y in range(1, height - 1)
    ]
    visited = {tuple(xy) for r in records for xy in r["xy"]}
    inner = rng.random((height - 2, width - 2)) < WALL_SHARE
    return border + [(x, y) for y, x in (np.argwhere(inner) + 1).tolist() if (x, y) not in visited]


def _building_count(rng, width: int, height: int) -> int:
    return int(rng.integers(1, 4)) + int(width * height * BUILDING_SHARE)


def _version_1(rng, records, agents, steps, width, height, walls) -> dict:
    objects, next_id = [], 1
    for x, y in walls:
        objects.append({"id": next_id, "type": 1, "r": y, "c": x, "layer": 1, "wall": 1})
        objects[-1].update({"hp": 10, "swappable": 0})
        next_id += 1
    for _ in range(_building_count(rng, width, height)):
        objects.append(
            {"id": next_id, "type": 4, "r": int(rng.integers(1, height - 1))}
            | {"c": int(rng.integers(1, width - 1)), "layer": 1, "hp": 30, "altar": 1, "color": 0}
            | {"converting": 0} | {f"inv:{item}": 0 for item in ITEMS_V1}
        )  # fmt: skip
        next_id += 1
    # Version 1's actions are numbered differently: noop, move, rotate... are 2, 3, 4...
    v1_action = {0: 2, 1: 3, 2: 4, 3: 5, 4: 1, 5: 0, 6: 8, 7: 7}
    for agent_id, r in enumerate(records):
        agent = {"id": next_id, "type": 0, "r": _changes([p[1] for p in r["xy"]])}
        agent |= {"c": _changes([p[0] for p in r["xy"]]), "layer": 0, "agent": 1}
        agent |= {"agent:group": agent_id % 2, "hp": 10, "agent:frozen": 0}
        agent |= {"agent:orientation": _changes(r["orientation"]), "agent:color": 0}
        for i, item in enumerate(ITEMS_V1):
            agent[f"agent:inv:{item}"] = _changes([inv.get(i, 0) for inv in r["inventory"]])
        agent["agent_id"] = agent_id
        agent["action"] = _changes(
            [[v1_action[a], p] for a, p in zip(r["action"], r["param"], strict=True)]
        )
        agent["action_success"] = _changes(r["success"])
        agent["reward"] = _changes(r["reward"])
        agent["total_reward"] = _changes(r["total"])
        objects.append(agent)
        next_id += 1
    return {
        "version": 1,
        "num_agents": agents,
        "max_steps": steps,
        "map_size": [width, height],
        "action_names": ACTIONS_V1,
        "inventory_items": ITEMS_V1,
        "object_types": TYPES_V1,
        "grid_objects": objects,
    }


def _game_config(version: int, agents: int, steps: int, item_names, action_names) -> dict:
    """`mg_config`: what the replay says about the game, including each agent's initial
    inventory (the only state before action 0 a replay gives)."""
    if version == 2:
        agent = {"default_resource_limit": 100, "freeze_duration": 10, "initial_inventory": {}}
        return {
            "label": "arena",
            "game": {"resource_names": item_names, "num_agents": agents, "max_steps": steps}
            | {"agent": agent, "actions": {n: {"enabled": True} for n in action_names}},
            "desync_episodes": False,
        }
    limits = {"energy": {"min": 100, "max": 100, "resources": ["energy"]}}
    limits |= {"cargo": {"min": 40, "max": 40, "resources": ["carbon", "oxygen", "germanium"]}}
    agent = {"name": "agent", "map_name": "agent", "render_symbol": "\u2753", "tags": []}
    agent |= {"vibe": 0, "inventory": {"default_limit": 65535, "limits": limits}}
    agent["inventory"]["initial"] = {"energy": 100, "hp": 100}
    agent |= {"team_id": 0, "rewards": {"heart.gained": 1.0}}
    actions = {"noop": {"enabled": True}, "move": {"enabled": True, "consumed_resources": {}}}
    actions["change_vibe"] = {"enabled": True, "vibes": VIBE_NAMES}
    objects = {t: {"name": t, "map_name": t} for t in TYPES_V3[1:]}
    game = {"resource_names": item_names, "vibe_names": VIBE_NAMES, "num_agents": agents}
    game |= {"max_steps": steps, "episode_truncates": False}
    game |= {"obs": {"width": 13, "height": 13, "token_dim": 3, "num_tokens": 200}}
    game |= {"agent": agent, "agents": [dict(agent, team_id=i % 2) for i in range(agents)]}
    game |= {"actions": actions, "objects": objects}
    return {"label": "cogs_vs_clips.machina", "game": game, "desync_episodes": False}


def _version_2_to_4(rng, records, agents, steps, width, height, version, policy, walls) -> dict:
    cardinal = version >= 3
    item_names = ITEMS_V3 if cardinal else ITEMS_V2
    action_names = ACTIONS_V3 if cardinal else ACTIONS_V2
    type_names = TYPES_V3 if cardinal else TYPES_V2
    tags = {f"type:{t}": i for i, t in enumerate(sorted(type_names))}
    order = "hash" if version == 3 or (version == 4 and rng.random() < 0.3) else "sorted"
    placeholder_location = [] if version == 4 else 0  # typed placeholders from 2026-02-12

    def base(object_id: int, type_name: str, x: int, y: int, inventory) -> dict:
        obj = {"id": object_id}
        if version == 4:
            obj["alive"] = True
        obj |= {"type_name": type_name, "location": [x, y], "orientation": 0}
        obj |= {"inventory": inventory, "inventory_max": 0, "color": 0}
        if version == 3:
            obj["collective_id"] = -1
        if version == 4:
            obj["tag_ids"] = [tags[f"type:{type_name}"]]
        if version == 2:
            obj["is_swappable"] = False
        return obj

    objects, next_id = [], 1
    for x, y in walls:  # walls: recorded at step 0 only, every key bare
        objects.append(base(next_id, "wall", x, y, []))
        next_id += 1
    for kind in type_names[2:]:
        for _ in range(_building_count(rng, width, height)):
            x, y = int(rng.integers(1, width - 1)), int(rng.integers(1, height - 1))
            stock = [[ORES[len(objects) % 4], 100]] if "extractor" in kind else []
            objects.append(base(next_id, kind, x, y, stock if cardinal else []))
            next_id += 1
    if version == 4:  # the writer adds the capacities last
        for obj in objects:
            obj["inventory_capacities"] = []

    # Some version-4 episodes have an agent that joins late and one that leaves early.
    joins = leaves = None
    if version == 4 and agents >= 3 and rng.random() < 0.25:
        joins = (agents - 1, int(rng.integers(steps // 4, steps // 2)))
        leaves = (agents - 2, int(rng.integers(steps // 2, steps - 1)))
    team_policy = [policy or "navigator_v3", TEAM_POLICIES[int(rng.integers(0, 2))]]
    for agent_id, r in enumerate(records):
        start = joins[1] if joins and joins[0] == agent_id else 0
        end = leaves[1] if leaves and leaves[0] == agent_id else steps

        def series(values, placeholder=0, _start=start, _end=end):
            return _changes(values[_start:_end], _start, placeholder)

        inventories = [_pairs(inv, order) for inv in r["inventory"]]
        agent = base(next_id, "agent", 0, 0, None)
        if version == 4 and (start or end < steps):
            agent["alive"] = (
                [[0, False], [start, True]] if start else [[0, True], [end, False]]
            )  # fmt: skip
        agent["location"] = series(r["xy"], placeholder_location)
        agent["inventory"] = series(inventories, [] if version == 4 else 0)
        agent |= {"is_agent": True, "agent_id": agent_id, "vision_size": 13 if version == 4 else 11}
        agent["action_id"] = series(r["action"])
        agent["action_param"] = series(r["param"])
        agent["action_success"] = series(r["success"], False if version == 4 else 0)
        if version == 4:
            agent["animation_id"] = series(r["bump"])
        agent["current_reward"] = series(r["reward"], 0.0 if version == 4 else 0)
        agent["total_reward"] = series(r["total"], 0.0 if version == 4 else 0)
        if version < 4:
            agent |= {"freeze_remaining": 0, "is_frozen": False, "freeze_duration": 10}
        agent["group_id"] = agent_id % 2
        if cardinal:
            agent["vibe_id"] = series(r["vibe"])
            agent["vibe"] = agent["vibe_id"]
        if version == 4:
            if not start:  # the writer gives a late agent no policy_infos (no typed default)
                name = team_policy[agent_id % 2]
                agent["policy_infos"] = series(
                    [{"message": m, "policy_name": name} for m in r["message"]]
                )
            agent |= {"monologue_append": "", "monologue_reset": False}
            capacity = [[[0, 40], [1, 100]] if sum(inv.get(o, 0) for o in ORES) < 40 else
                        [[0, 0], [1, 100]] for inv in r["inventory"]]  # fmt: skip
            agent["inventory_capacities"] = series(capacity, [])
        if start:  # a late object's constant keys too start with the writer's default at step 0
            for key, value in agent.items():
                if key not in SERIES_KEYS:
                    agent[key] = [[0, _default_for(value)], [start, value]]
        objects.append(agent)
        next_id += 1

    config = _game_config(version, agents, steps, item_names, action_names)
    replay = {"version": version, "action_names": action_names}
    if version == 4:
        replay["animation_names"] = ["none", "bump"]
    replay |= {"item_names": item_names, "type_names": type_names}
    if version == 4:
        replay |= {"capacity_names": ["cargo", "energy"], "tags": tags}
    replay |= {"map_size": [width, height], "num_agents": agents, "max_steps": steps}
    replay["mg_config"] = config
    if version == 4:
        replay["policy_env_interface"] = {
            "obs_features": [{"id": i, "name": n, "normalization": 255.0} for i, n in
                             enumerate(["agent:group", "episode_completion_pct", "last_action",
                                        "last_reward", "vibe", "tag"])],
            "tags": [], "action_names": action_names,
            "vibe_action_names": [n for n in action_names if n.startswith("change_vibe_")],
            "move_energy_cost": 1.0, "num_agents": agents,
            "observation_shape": [13, 13, 3], "egocentric_shape": [13, 13],
        }  # fmt: skip
    replay["objects"] = objects
    if version == 4:
        totals = [r["total"][-1] for r in records]
        replay["infos"] = {
            "game": {"objects.wall": float(len(walls)), "tokens_dropped": 0.0},
            "agent": {"heart.gained": float(np.mean(totals)), "action.noop.success": 1.0},
            "attributes": {"seed": int(rng.integers(0, 1 << 20)), "map_w": width,
                           "map_h": height, "steps": steps, "max_steps": steps},
            "episode_rewards": totals,
        }  # fmt: skip
    return replay


def encode_replay(replay: dict, compression: str = "zlib") -> bytes:
    """The file bytes: JSON as the writer dumps it (`json.dumps` defaults), zlib or gzip."""
    raw = json.dumps(replay).encode()
    return gzip.compress(raw, 6, mtime=0) if compression == "gzip" else zlib.compress(raw, 6)
