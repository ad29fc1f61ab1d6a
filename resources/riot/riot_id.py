"""How a player's Riot ID is written and read: `gameName#tagLine`, and `gameName` alone for a
player known only from a body before the Riot ID (summonerName, no tag line).

The one place that formats a Riot ID (the command line, metadata tables, messages) and splits one
typed by a user, so a player without a tag line is never shown as `name#`.
"""

from __future__ import annotations


def format_riot_id(game_name: str | None, tag_line: str | None) -> str:
    """`Name#TAG`, or `Name` when there is no tag line (pre-Riot-ID bodies)."""
    name = game_name or ""
    return f"{name}#{tag_line}" if tag_line else name


def split_riot_id(ref: str) -> tuple[str, str] | None:
    """(`gameName`, `tagLine`) of `Name#TAG`; None when `ref` has no `#` (a PUUID or a bare
    name). The tag is what follows the last `#`: a game name may not contain one."""
    if "#" not in ref:
        return None
    name, tag = ref.rsplit("#", 1)
    return name, tag
