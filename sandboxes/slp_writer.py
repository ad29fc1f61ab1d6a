"""A small writer of Slippi replays (`.slp`, format v3.13.0) for tests, demos and benchmarks.

It writes what a real recording has at v3.13.0: the Event Payloads table, Game Start, per frame a
Frame Start, a Pre-frame and Post-frame for each player and a Frame Bookend, then Game End with
placements, wrapped in the UBJSON container `{"raw": [...], "metadata": {...}}`. The metadata
block is written by hand: peppi-py rejects the encoding some UBJSON libraries produce.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from pathlib import Path

from assets.replay_sync.characters import EXTERNAL_TO_INTERNAL

VERSION = (3, 13, 0)
FIRST_FRAME = -123  # frame ids start here; the frame count is lastFrame + 124

# Payload sizes at v3.13.0 (command byte excluded), as a real v3.13.0 recording lists them.
GAME_START, PRE_FRAME, POST_FRAME, GAME_END = 0x36, 0x37, 0x38, 0x39
FRAME_START, FRAME_BOOKEND, EVENT_PAYLOADS = 0x3A, 0x3C, 0x35
PAYLOAD_SIZES = {
    GAME_START: 0x2BD,
    PRE_FRAME: 63,
    POST_FRAME: 80,
    GAME_END: 6,
    FRAME_START: 12,
    FRAME_BOOKEND: 8,
}
HUMAN, CPU, EMPTY = 0, 1, 3
END_TIME, END_GAME, END_NO_CONTEST = 1, 2, 7
CONTAINER_MAGIC = bytes.fromhex("7B 55 03 72 61 77 5B 24 55 23 6C")


@dataclass(frozen=True)
class PlayerSpec:
    port: int  # 0..3 (P1..P4)
    character: int  # external (CSS) id
    cpu: bool = False
    stocks: int = 4
    costume: int = 0


@dataclass(frozen=True)
class ReplaySpec:
    players: tuple[PlayerSpec, ...]
    stage: int = 31
    last_frame: int = 60
    start_at: str = "2026-11-01T12:00:00Z"
    played_on: str = "dolphin"
    end_method: int | None = END_GAME  # None: the recording stopped before Game End
    winner_port: int | None = None  # placement 0 for this port when the game ended by GAME/TIME
    seed: int = 0
    extra: dict = field(default_factory=dict)


def _ubjson_key(key: str) -> bytes:
    data = key.encode()
    return b"U" + bytes([len(data)]) + data


def _ubjson_string(value: str) -> bytes:
    data = value.encode()
    return b"SU" + bytes([len(data)]) + data


def _ubjson_int32(value: int) -> bytes:
    return b"l" + struct.pack(">i", value)


def _metadata_block(spec: ReplaySpec) -> bytes:
    frames = spec.last_frame - FIRST_FRAME + 1
    players = b""
    for p in spec.players:
        internal = str(EXTERNAL_TO_INTERNAL[p.character])
        players += (
            _ubjson_key(str(p.port))
            + b"{"
            + _ubjson_key("names")
            + b"{}"
            + _ubjson_key("characters")
            + b"{"
            + _ubjson_key(internal)
            + _ubjson_int32(frames)
            + b"}}"
        )
    return (
        _ubjson_key("metadata")
        + b"{"
        + _ubjson_key("startAt")
        + _ubjson_string(spec.start_at)
        + _ubjson_key("lastFrame")
        + _ubjson_int32(spec.last_frame)
        + _ubjson_key("players")
        + b"{"
        + players
        + b"}"
        + _ubjson_key("playedOn")
        + _ubjson_string(spec.played_on)
        + b"}"
    )


def _event(code: int, payload: bytearray | bytes) -> bytes:
    assert len(payload) == PAYLOAD_SIZES[code], (code, len(payload))
    return bytes([code]) + bytes(payload)


def _game_start(spec: ReplaySpec, rng: random.Random) -> bytes:
    # Offsets below are the spec's, which count the command byte as 0x0.
    body = bytearray(PAYLOAD_SIZES[GAME_START] + 1)
    body[0] = GAME_START
    body[0x1:0x5] = bytes([*VERSION, 0])
    body[0x5:0x9] = bytes([0x32, 0x01, 0x86, 0x4C])  # game bitfields of a standard match
    body[0x10] = 0xFF  # items off
    body[0x11] = 0xFF  # self-destruct -1
    struct.pack_into(">H", body, 0x13, spec.stage)
    struct.pack_into(">I", body, 0x15, 480)  # 8-minute timer
    struct.pack_into(">f", body, 0x35, 1.0)  # damage ratio
    by_port = {p.port: p for p in spec.players}
    for port in range(4):
        base = 0x65 + 0x24 * port
        player = by_port.get(port)
        if player is None:
            body[base] = 0x1A  # no character
            body[base + 1] = EMPTY
            continue
        body[base] = player.character
        body[base + 1] = CPU if player.cpu else HUMAN
        body[base + 2] = player.stocks
        body[base + 3] = player.costume
        body[base + 8] = 9  # handicap
        body[base + 0xC] = 0xC0  # player bitfield
        body[base + 0xF] = 1 if player.cpu else 0  # cpu level
        for off in (0x18, 0x1C, 0x20):  # offense, defense ratio and model scale = 1.0
            struct.pack_into(">f", body, base + off, 1.0)
    struct.pack_into(">I", body, 0x13D, rng.getrandbits(32))
    return bytes(body)


def _frame_events(spec: ReplaySpec, frame: int, rng: random.Random) -> bytes:
    out = bytearray()
    seed = rng.getrandbits(32)
    start = bytearray(PAYLOAD_SIZES[FRAME_START])
    struct.pack_into(">iII", start, 0, frame, seed, frame - FIRST_FRAME)
    out += _event(FRAME_START, start)
    for p in spec.players:
        x = -40.0 + 80.0 * p.port / 3 + rng.uniform(-1, 1)
        pre = bytearray(PAYLOAD_SIZES[PRE_FRAME])
        struct.pack_into(">iBBIHfff", pre, 0, frame, p.port, 0, seed, 14, x, 10.0, 1.0)
        out += _event(PRE_FRAME, pre)
        post = bytearray(PAYLOAD_SIZES[POST_FRAME])
        struct.pack_into(">iBBBHfff", post, 0, frame, p.port, 0, EXTERNAL_TO_INTERNAL[p.character], 14, x, 10.0, 1.0)  # fmt: skip
        post[0x20] = p.stocks  # stocks remaining (spec offset 0x21)
        out += _event(POST_FRAME, post)
    bookend = bytearray(PAYLOAD_SIZES[FRAME_BOOKEND])
    struct.pack_into(">ii", bookend, 0, frame, frame)
    out += _event(FRAME_BOOKEND, bookend)
    return bytes(out)


def _game_end(spec: ReplaySpec) -> bytes:
    body = bytearray(PAYLOAD_SIZES[GAME_END])
    body[0] = spec.end_method or 0
    body[1] = 0xFF  # no LRAS
    ports = {p.port for p in spec.players}
    ranked = sorted(ports, key=lambda port: (port != spec.winner_port, port))
    for port in range(4):
        if port not in ports or spec.winner_port is None:
            body[2 + port] = 0xFF
        else:
            body[2 + port] = ranked.index(port)
    return bytes(body)


def replay_bytes(spec: ReplaySpec) -> bytes:
    rng = random.Random(spec.seed)
    sizes = b"".join(
        bytes([code]) + struct.pack(">H", size) for code, size in PAYLOAD_SIZES.items()
    )
    raw = bytearray(bytes([EVENT_PAYLOADS, len(sizes) + 1]) + sizes)
    raw += _game_start(spec, rng)
    for frame in range(FIRST_FRAME, spec.last_frame + 1):
        raw += _frame_events(spec, frame, rng)
    if spec.end_method is not None:
        raw += _event(GAME_END, _game_end(spec))
    return CONTAINER_MAGIC + struct.pack(">I", len(raw)) + bytes(raw) + _metadata_block(spec) + b"}"


def write_replay(path: Path, spec: ReplaySpec) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(replay_bytes(spec))
    return path


def random_spec(character: int, seed: int, last_frame: int | None = None) -> ReplaySpec:
    """A plausible 1v1 with `character` in port 1 against a random opponent."""
    rng = random.Random(seed)
    opponent = rng.choice([c for c in EXTERNAL_TO_INTERNAL if c != character])
    ports = rng.sample(range(4), 2)
    method = rng.choice([END_GAME, END_GAME, END_TIME, END_NO_CONTEST])
    return ReplaySpec(
        players=(PlayerSpec(ports[0], character), PlayerSpec(ports[1], opponent)),
        stage=rng.choice([2, 3, 8, 28, 31, 32]),
        last_frame=last_frame if last_frame is not None else rng.randint(30, 240),
        start_at=f"2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
        f"{rng.randint(0, 59):02d}:00Z",
        played_on=rng.choice(["dolphin", "console", "nintendont"]),
        end_method=method,
        winner_port=rng.choice(ports) if method != END_NO_CONTEST else None,
        seed=seed,
    )
