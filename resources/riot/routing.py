"""Riot API routing values: which host serves what (plain data, shared by client and sandbox).

Platform hosts (na1, euw1, kr, ...) serve summoner-v4 and league-v4; regional hosts (americas,
europe, asia, sea) serve match-v5 and account-v1 (account-v1 only on americas/europe/asia).
"""

from __future__ import annotations

PLATFORM_REGION = {
    "na1": "americas",
    "br1": "americas",
    "la1": "americas",
    "la2": "americas",
    "euw1": "europe",
    "eun1": "europe",
    "tr1": "europe",
    "ru": "europe",
    "me1": "europe",
    "kr": "asia",
    "jp1": "asia",
    "oc1": "sea",
    "ph2": "sea",
    "sg2": "sea",
    "th2": "sea",
    "tw2": "sea",
    "vn2": "sea",
}
REGIONS = frozenset(PLATFORM_REGION.values())
ACCOUNT_REGIONS = frozenset({"americas", "europe", "asia"})


def region_of(platform: str) -> str:
    """The regional routing value for a platform (`euw1` -> `europe`)."""
    try:
        return PLATFORM_REGION[platform.lower()]
    except KeyError:
        raise ValueError(
            f"unknown platform {platform!r}; use one of {', '.join(sorted(PLATFORM_REGION))}"
        ) from None


def account_region(platform: str) -> str:
    """account-v1 has no `sea` host; any account host resolves any account."""
    region = region_of(platform)
    return region if region in ACCOUNT_REGIONS else "asia"


def platform_of_match(match_id: str) -> str:
    """Match ids are `{PLATFORM}_{gameId}`: `EUW1_6234567890` -> `euw1`."""
    prefix, sep, _ = match_id.partition("_")
    if not sep or prefix.lower() not in PLATFORM_REGION:
        raise ValueError(f"match id {match_id!r} does not start with a known platform")
    return prefix.lower()
