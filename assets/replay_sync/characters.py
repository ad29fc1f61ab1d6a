"""Melee's characters and stages as Slippi numbers them, and the partition list.

Folders and partitions are keyed on the external (character-select-screen) id's slug, e.g.
`mewtwo` = 10; the replay metadata block uses the internal id, which differs.
"""

from __future__ import annotations

# External (CSS) id -> (slug, display name). peppi-py's `start.players[].character` is this id.
EXTERNAL_CHARACTERS: dict[int, tuple[str, str]] = {
    0: ("captain_falcon", "Captain Falcon"),
    1: ("donkey_kong", "Donkey Kong"),
    2: ("fox", "Fox"),
    3: ("game_and_watch", "Mr. Game & Watch"),
    4: ("kirby", "Kirby"),
    5: ("bowser", "Bowser"),
    6: ("link", "Link"),
    7: ("luigi", "Luigi"),
    8: ("mario", "Mario"),
    9: ("marth", "Marth"),
    10: ("mewtwo", "Mewtwo"),
    11: ("ness", "Ness"),
    12: ("peach", "Peach"),
    13: ("pikachu", "Pikachu"),
    14: ("ice_climbers", "Ice Climbers"),
    15: ("jigglypuff", "Jigglypuff"),
    16: ("samus", "Samus"),
    17: ("yoshi", "Yoshi"),
    18: ("zelda", "Zelda"),
    19: ("sheik", "Sheik"),
    20: ("falco", "Falco"),
    21: ("young_link", "Young Link"),
    22: ("dr_mario", "Dr. Mario"),
    23: ("roy", "Roy"),
    24: ("pichu", "Pichu"),
    25: ("ganondorf", "Ganondorf"),
}

# External id -> internal id (the in-game character the metadata block and post-frames name).
EXTERNAL_TO_INTERNAL: dict[int, int] = {
    0: 2, 1: 3, 2: 1, 3: 24, 4: 4, 5: 5, 6: 6, 7: 17, 8: 0, 9: 18, 10: 16, 11: 8, 12: 9,
    13: 12, 14: 10, 15: 15, 16: 13, 17: 14, 18: 19, 19: 7, 20: 22, 21: 20, 22: 21, 23: 26,
    24: 23, 25: 25,
}  # fmt: skip

SLUG_TO_EXTERNAL: dict[str, int] = {slug: cid for cid, (slug, _) in EXTERNAL_CHARACTERS.items()}

STAGES: dict[int, str] = {
    2: "Fountain of Dreams",
    3: "Pokémon Stadium",
    8: "Yoshi's Story",
    28: "Dream Land N64",
    31: "Battlefield",
    32: "Final Destination",
}

DEFAULT_CHARACTERS = ("mewtwo", "ganondorf", "link", "fox", "marth")


def character_name(external_id: int | None) -> str | None:
    if external_id is None:
        return None
    entry = EXTERNAL_CHARACTERS.get(external_id)
    return entry[1] if entry else f"unknown ({external_id})"


def stage_name(stage_id: int | None) -> str | None:
    if stage_id is None:
        return None
    return STAGES.get(stage_id, f"stage {stage_id}")


def parse_character_list(text: str | None) -> list[str]:
    """`REPLAY_SYNC_CHARACTERS` ("mewtwo, link,fox") -> validated, de-duplicated slugs in order."""
    if not text or not text.strip():
        return list(DEFAULT_CHARACTERS)
    slugs: list[str] = []
    for raw in text.split(","):
        slug = raw.strip().lower().replace(" ", "_").replace("-", "_")
        if not slug:
            continue
        if slug not in SLUG_TO_EXTERNAL:
            raise ValueError(
                f"unknown character {raw.strip()!r} in REPLAY_SYNC_CHARACTERS; use slugs from: "
                + ", ".join(sorted(SLUG_TO_EXTERNAL))
            )
        if slug not in slugs:
            slugs.append(slug)
    return slugs
