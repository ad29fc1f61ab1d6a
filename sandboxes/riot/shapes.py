"""What a match-v5 answer looks like, by the era it was played in: the keys, the units, the names.

The real API still serves matches back to June 2021 (match-v5's first stored timestamps), and each
answer keeps the shape of its patch, so one client meets all of these at once:

| era         | patches           | duration | the player's name                       | extras                   |
|-------------|-------------------|----------|-----------------------------------------|--------------------------|
| `pre_11_20` | 11.12-11.19       | ms, no `gameEndTimestamp` | `summonerName` only        | 96 participant keys       |
| `11_20`     | 11.20-12.8        | seconds  | `summonerName`, `riotIdName`/`riotIdTagline` empty | no challenges |
| `12_9`      | 12.9-13.24        | seconds  | as above                                | challenges, pings; Arena (8 players) from 13.14 |
| `14_1`      | 14.1-15.13        | seconds  | `riotIdGameName#riotIdTagline`, old `summonerName`, `summonerId` | missions, `endOfGameResult`, void grubs; feats, Atakhan from 15.1 |
| `current`   | 15.13 on (7 July 2025-) | seconds | Riot ID; `summonerName` empty, no `summonerId` | PlayerScore0-11, `roleBoundItem`, 146 keys |

Every key of every era is given a value from one simulated game (`_values`); an era's key list
then picks its keys (sorted, as the real answers are), so the numbers agree across the keys that
measure the same thing (kills and `challenges.kda`, damage and its physical/magic/true parts).
Arena (`CHERRY`, queue 1700, map 30) has 8 players in 2023 and 16 since, in two-player subteams
with a placement; it and ARAM have no lane: `teamPosition` "" and `individualPosition`
"Invalid", as the real answers say. The key lists are held to real answers by
tests/riot/test_sandbox_shapes.py (tests/riot/real_match_keys.py).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime

TIERS = [
    "IRON", "BRONZE", "SILVER", "GOLD", "PLATINUM", "EMERALD", "DIAMOND", "MASTER", "GRANDMASTER",
    "CHALLENGER",
]  # fmt: skip
DIVISIONS = ["IV", "III", "II", "I"]
# Typical CS per minute by tier, used to generate plausible stats.
TIER_CS = [4.6, 5.1, 5.6, 6.1, 6.5, 6.8, 7.2, 7.8, 8.1, 8.4]
RIFT = {420: "CLASSIC", 440: "CLASSIC", 400: "CLASSIC", 430: "CLASSIC"}
ARAM, ARENA = 450, 1700
POSITIONS = ["TOP", "JUNGLE", "MIDDLE", "BOTTOM", "UTILITY"]
LANES = {
    "TOP": "TOP",
    "JUNGLE": "JUNGLE",
    "MIDDLE": "MIDDLE",
    "BOTTOM": "BOTTOM",
    "UTILITY": "BOTTOM",
}
ROLES = {"TOP": "SOLO", "JUNGLE": "NONE", "MIDDLE": "SOLO", "BOTTOM": "CARRY", "UTILITY": "SUPPORT"}
CHAMPIONS = [
    (266, "Aatrox"), (103, "Ahri"), (84, "Akali"), (22, "Ashe"), (53, "Blitzcrank"),
    (51, "Caitlyn"), (122, "Darius"), (81, "Ezreal"), (114, "Fiora"), (86, "Garen"),
    (104, "Graves"), (39, "Irelia"), (202, "Jhin"), (222, "Jinx"), (145, "Kaisa"),
    (64, "LeeSin"), (99, "Lux"), (21, "MissFortune"), (25, "Morgana"), (111, "Nautilus"),
    (555, "Pyke"), (412, "Thresh"), (157, "Yasuo"), (238, "Zed"),
]  # fmt: skip
LEGENDARY = [3031, 3071, 3153, 3157, 3089, 6655, 6672, 3078, 3068, 3190, 6653, 3142, 3036]
BOOTS = [3006, 3009, 3020, 3047, 3111, 3158]
ARENA_ITEMS = [223031, 223111, 223084, 223068, 223065, 223089, 223157, 226653, 223020]
# PlayerScore0-11 and missions.playerScore0-11: the same twelve counters, two spellings
SCORES = [f"PlayerScore{i}" for i in range(12)]
# the patch each year opened with (x.1); patches follow every two weeks, at most x.24
SEASON_OPENERS = {
    2021: (2021, 1, 6), 2022: (2022, 1, 5), 2023: (2023, 1, 11), 2024: (2024, 1, 10),
    2025: (2025, 1, 8), 2026: (2026, 1, 8), 2027: (2027, 1, 6),
}  # fmt: skip
# summoner and account ids left every payload on this day (reference/riot.md)
IDS_REMOVED = datetime(2025, 7, 7, tzinfo=UTC)
ARENA_OPENED = datetime(2023, 7, 20, tzinfo=UTC)
ARENA_OF_16 = datetime(2024, 1, 1, tzinfo=UTC)
MATCH_V5_FIRST = datetime(2021, 6, 16, tzinfo=UTC)  # the matchlist's first stored timestamps


def _keys(text: str) -> frozenset[str]:
    return frozenset(text.split())


# -- the key sets, era by era (as changes on the previous era, so each change is stated once) --

_BASE = _keys("""
    assists baronKills bountyLevel champExperience champLevel championId championName
    championTransform consumablesPurchased damageDealtToObjectives damageDealtToTurrets
    damageSelfMitigated deaths detectorWardsPlaced doubleKills dragonKills firstBloodAssist
    firstBloodKill firstTowerAssist firstTowerKill gameEndedInEarlySurrender gameEndedInSurrender
    goldEarned goldSpent individualPosition inhibitorKills item0 item1 item2 item3 item4 item5
    item6 itemsPurchased killingSprees kills lane largestCriticalStrike largestKillingSpree
    largestMultiKill longestTimeSpentLiving magicDamageDealt magicDamageDealtToChampions
    magicDamageTaken neutralMinionsKilled nexusKills objectivesStolen objectivesStolenAssists
    participantId pentaKills perks physicalDamageDealt physicalDamageDealtToChampions
    physicalDamageTaken profileIcon puuid quadraKills role sightWardsBoughtInGame spell1Casts
    spell2Casts spell3Casts spell4Casts summoner1Casts summoner1Id summoner2Casts summoner2Id
    summonerId summonerLevel summonerName teamEarlySurrendered teamId teamPosition
    timeCCingOthers timePlayed totalDamageDealt totalDamageDealtToChampions
    totalDamageShieldedOnTeammates totalDamageTaken totalHeal totalHealsOnTeammates
    totalMinionsKilled totalTimeCCDealt totalTimeSpentDead totalUnitsHealed tripleKills
    trueDamageDealt trueDamageDealtToChampions trueDamageTaken turretKills unrealKills visionScore
    visionWardsBoughtInGame wardsKilled wardsPlaced win
""")
_P_11_20 = _BASE | _keys("""
    damageDealtToBuildings inhibitorTakedowns inhibitorsLost nexusTakedowns nexusLost
    turretTakedowns turretsLost riotIdName riotIdTagline
""")
_PINGS = _keys("""
    allInPings assistMePings basicPings commandPings dangerPings enemyMissingPings
    enemyVisionPings getBackPings holdPings needVisionPings onMyWayPings pushPings
    visionClearedPings
""")
_P_12_9 = _P_11_20 | _PINGS | _keys("baitPings challenges eligibleForProgression")
_ARENA_FIELDS = _keys("""
    placement playerAugment1 playerAugment2 playerAugment3 playerAugment4 playerSubteamId
    subteamPlacement totalAllyJungleMinionsKilled totalEnemyJungleMinionsKilled
""")
_ARENA_2023 = (_P_12_9 - {"challenges"}) | _ARENA_FIELDS
_P_14_1 = (
    (_P_12_9 - _keys("baitPings riotIdName"))
    | _ARENA_FIELDS
    | _keys("""
    missions playerAugment5 playerAugment6 retreatPings riotIdGameName
""")
)
_P_CURRENT = (
    (_P_14_1 - {"summonerId"}) | set(SCORES) | _keys("roleBoundItem damageDealtToEpicMonsters")
)

_C_12_9 = _keys("""
    12AssistStreakCount abilityUses acesBefore15Minutes alliedJungleMonsterKills baronTakedowns
    blastConeOppositeOpponentCount bountyGold buffsStolen completeSupportQuestInTime
    controlWardsPlaced damagePerMinute damageTakenOnTeamPercentage dancedWithRiftHerald
    deathsByEnemyChamps dodgeSkillShotsSmallWindow doubleAces dragonTakedowns
    earlyLaningPhaseGoldExpAdvantage effectiveHealAndShielding elderDragonKillsWithOpposingSoul
    elderDragonMultikills enemyChampionImmobilizations enemyJungleMonsterKills
    epicMonsterKillsNearEnemyJungler epicMonsterKillsWithin30SecondsOfSpawn epicMonsterSteals
    epicMonsterStolenWithoutSmite flawlessAces fullTeamTakedown gameLength goldPerMinute
    hadOpenNexus immobilizeAndKillWithAlly initialBuffCount initialCrabCount
    jungleCsBefore10Minutes junglerTakedownsNearDamagedEpicMonster
    kTurretsDestroyedBeforePlatesFall kda killAfterHiddenWithAlly killParticipation
    killedChampTookFullTeamDamageSurvived killingSprees killsNearEnemyTurret
    killsOnRecentlyHealedByAramPack killsUnderOwnTurret killsWithHelpFromEpicMonster
    knockEnemyIntoTeamAndKill landSkillShotsEarlyGame laneMinionsFirst10Minutes
    laningPhaseGoldExpAdvantage legendaryCount lostAnInhibitor maxCsAdvantageOnLaneOpponent
    maxKillDeficit maxLevelLeadLaneOpponent moreEnemyJungleThanOpponent multiKillOneSpell
    multiTurretRiftHeraldCount multikills multikillsAfterAggressiveFlash
    outerTurretExecutesBefore10Minutes outnumberedKills outnumberedNexusKill
    perfectDragonSoulsTaken perfectGame pickKillWithAlly playedChampSelectPosition poroExplosions
    quickCleanse quickFirstTurret quickSoloKills riftHeraldTakedowns saveAllyFromDeath
    scuttleCrabKills skillshotsDodged skillshotsHit snowballsHit soloBaronKills soloKills
    stealthWardsPlaced survivedSingleDigitHpCount survivedThreeImmobilizesInFight
    takedownOnFirstTurret takedowns takedownsAfterGainingLevelAdvantage
    takedownsBeforeJungleMinionSpawn takedownsFirstXMinutes takedownsInAlcove
    takedownsInEnemyFountain teamBaronKills teamDamagePercentage teamElderDragonKills
    teamRiftHeraldKills threeWardsOneSweeperCount tookLargeDamageSurvived turretPlatesTaken
    turretTakedowns turretsTakenWithRiftHerald twentyMinionsIn3SecondsCount unseenRecalls
    visionScoreAdvantageLaneOpponent visionScorePerMinute wardTakedowns wardTakedownsBefore20M
    wardsGuarded mythicItemUsed controlWardTimeCoverageInRiverOrEnemyHalf earliestDragonTakedown
    junglerKillsEarlyJungle killsOnLanersEarlyJungleAsJungler
    getTakedownsInAllLanesEarlyJungleAsLaner killsOnOtherLanesEarlyJungleAsLaner
""")
_C_CURRENT = (_C_12_9 - _keys("mythicItemUsed threeWardsOneSweeperCount")) | _keys("""
    HealFromMapSources InfernalScalePickup SWARM_DefeatAatrox SWARM_DefeatBriar
    SWARM_DefeatMiniBosses SWARM_EvolveWeapon SWARM_Have3Passives SWARM_KillEnemy
    SWARM_PickupGold SWARM_ReachLevel50 SWARM_Survive15Min SWARM_WinWith5EvolvedWeapons
    firstTurretKilled firstTurretKilledTime fistBumpParticipation legendaryItemUsed
    mejaisFullStackInTime twoWardsOneSweeperCount voidMonsterKill baronBuffGoldAdvantageOverThreshold
    earliestBaron fastestLegendary soloTurretsLategame highestChampionDamage highestWardKills
    highestCrowdControlScore shortestTimeToAceFromFirstTakedown teleportTakedowns
""")
_I_PRE_11_20 = _keys("""
    gameCreation gameDuration gameId gameMode gameName gameStartTimestamp gameType gameVersion
    mapId participants platformId queueId teams tournamentCode
""")


@dataclass(frozen=True)
class Era:
    name: str
    participant_keys: frozenset[str]
    challenge_keys: frozenset[str]
    info_keys: frozenset[str]
    duration_ms: bool  # gameDuration in milliseconds (before 11.20)
    riot_id: str  # "none" (summonerName only), "empty" (riotIdName ""), "set" (riotIdGameName)
    summoner_name: bool  # summonerName carries the old name (empty since the Riot ID)


ERAS = {
    "pre_11_20": Era("pre_11_20", _BASE, frozenset(), _I_PRE_11_20, True, "none", True),
    "11_20": Era("11_20", _P_11_20, frozenset(), _I_PRE_11_20 | {"gameEndTimestamp"}, False,
                 "empty", True),
    "12_9": Era("12_9", _P_12_9, _C_12_9, _I_PRE_11_20 | {"gameEndTimestamp"}, False, "empty",
                True),
    "14_1": Era("14_1", _P_14_1, _C_CURRENT,
                _I_PRE_11_20 | _keys("gameEndTimestamp endOfGameResult"), False, "set", True),
    "current": Era("current", _P_CURRENT, _C_CURRENT,
                   _I_PRE_11_20 | _keys("gameEndTimestamp endOfGameResult"), False, "set", False),
}  # fmt: skip
ERA_ORDER = list(ERAS)
# which challenges a participant has depends on what they did (a jungler's, a laner's, the game's
# highest, an event's): the rest are always there
_JUNGLER_ONLY = _keys("junglerKillsEarlyJungle killsOnLanersEarlyJungleAsJungler")
_LANER_ONLY = _keys("getTakedownsInAllLanesEarlyJungleAsLaner killsOnOtherLanesEarlyJungleAsLaner")
_HIGHEST = _keys("highestChampionDamage highestWardKills highestCrowdControlScore")


def when(start_ms: int) -> datetime:
    return datetime.fromtimestamp(start_ms / 1000, UTC)


def patch_of(start_ms: int) -> tuple[int, int]:
    """(major, minor) of the patch live at `start_ms`: 11.x in 2021 ... 16.x in 2026."""
    day = when(start_ms)
    year = day.year
    opener = datetime(*SEASON_OPENERS.get(year, (year, 1, 8)), tzinfo=UTC)
    if day < opener:
        return year - 1 - 2010, 24
    return year - 2010, min(24, 1 + (day - opener).days // 14)


def era_of(start_ms: int) -> Era:
    major, minor = patch_of(start_ms)
    if (major, minor) < (11, 20):
        return ERAS["pre_11_20"]
    if (major, minor) < (12, 9):
        return ERAS["11_20"]
    if major < 14:
        return ERAS["12_9"]
    return ERAS["14_1"] if when(start_ms) < IDS_REMOVED else ERAS["current"]


def game_version(start_ms: int, rng: random.Random) -> str:
    major, minor = patch_of(start_ms)
    return f"{major}.{minor}.{rng.randint(300, 800)}.{rng.randint(1000, 9999)}"


def arena_size(start_ms: int) -> int:
    """Players in an Arena game: 0 before Arena, 8 (four duos) in 2023, 16 (eight) since."""
    day = when(start_ms)
    return 0 if day < ARENA_OPENED else 8 if day < ARENA_OF_16 else 16


def roster_size(queue: int, start_ms: int) -> int:
    return arena_size(start_ms) if queue == ARENA else 10


# -- the body --------------------------------------------------------------------------------------


@dataclass
class Seat:
    """One participant's place in the game and the generated player behind it."""

    player: object  # sandboxes.riot.world.Player
    slot: int
    team: int
    win: bool
    position: str  # TOP..UTILITY on the Rift, "" in ARAM and Arena
    subteam: int = 0  # Arena: 1..8
    placement: int = 0  # Arena: 1..subteams


def match_body(plan, roster: list, seed: int) -> dict:
    """The match-v5 answer for `plan` (a world.MatchPlan) played by `roster` (world.Players)."""
    rng = random.Random(f"{seed}:match:{plan.match_id}")
    era = era_of(plan.start_ms)
    minutes = plan.duration_s / 60
    seats = _seats(plan, roster, rng)
    values = [_values(seat, plan, era, minutes, rng) for seat in seats]
    _team_challenges(values, seats, rng)
    participants = []
    for seat, v in zip(seats, values, strict=True):
        p = {k: v[k] for k in sorted(_participant_keys(era, plan))}
        if "challenges" in p:
            p["challenges"] = _challenges_for(v["challenges"], era, seat)
        participants.append(p)
    end_ms = plan.start_ms + plan.duration_s * 1000
    game_id = int(plan.match_id.split("_")[1])
    info = {
        "endOfGameResult": "GameComplete",
        "gameCreation": plan.start_ms - rng.randint(15_000, 100_000),
        "gameDuration": plan.duration_s * 1000 + rng.randint(0, 999)
        if era.duration_ms
        else plan.duration_s,
        "gameEndTimestamp": end_ms,
        "gameId": game_id,
        "gameMode": "ARAM"
        if plan.queue == ARAM
        else "CHERRY"
        if plan.queue == ARENA
        else "CLASSIC",
        "gameName": f"teambuilder-match-{game_id}",
        "gameStartTimestamp": plan.start_ms,
        "gameType": "MATCHED_GAME",
        "gameVersion": game_version(plan.start_ms, rng),
        "mapId": 12 if plan.queue == ARAM else 30 if plan.queue == ARENA else 11,
        "participants": participants,
        "platformId": plan.platform.upper(),
        "queueId": plan.queue,
        "teams": _teams(values, seats, plan, rng),
        "tournamentCode": "",
    }
    return {
        "metadata": {
            "dataVersion": "2",
            "matchId": plan.match_id,
            "participants": [p.puuid for p in roster],
        },
        "info": {k: info[k] for k in sorted(era.info_keys)},
    }


def _participant_keys(era: Era, plan) -> frozenset[str]:
    if plan.queue == ARENA and era.name == "12_9":
        return _ARENA_2023
    return era.participant_keys


def _seats(plan, roster: list, rng: random.Random) -> list[Seat]:
    if plan.queue == ARENA:
        # duos by roster order; placements by the duo's skill with luck
        duos = len(roster) // 2
        strength = [
            (roster[2 * d].skill + roster[2 * d + 1].skill) * rng.uniform(0.7, 1.3)
            for d in range(duos)
        ]
        order = sorted(range(duos), key=lambda d: -strength[d])
        place = {d: order.index(d) + 1 for d in range(duos)}
        return [
            Seat(p, i, 100 if (i // 2 + 1) % 2 == 0 else 200, place[i // 2] <= duos // 2, "",
                 i // 2 + 1, place[i // 2])
            for i, p in enumerate(roster)
        ]  # fmt: skip
    strength = [sum(p.skill for p in roster[:5]), sum(p.skill for p in roster[5:])]
    p_blue = 1 / (1 + math.exp(-3.0 * (strength[0] - strength[1])))
    blue_wins = rng.random() < p_blue
    return [
        Seat(
            p,
            i,
            100 if i < 5 else 200,
            blue_wins == (i < 5),
            POSITIONS[i % 5] if plan.queue in RIFT else "",
        )
        for i, p in enumerate(roster)
    ]


def _values(seat: Seat, plan, era: Era, minutes: float, rng: random.Random) -> dict:
    """Every key any era has, from one simulated game of this participant."""
    p, position = seat.player, seat.position
    arena, aram = plan.queue == ARENA, plan.queue == ARAM
    support, jungle_role = position == "UTILITY", position == "JUNGLE"
    s = p.skill * (1.1 if seat.win else 0.9)
    pace = minutes / 30
    if arena:
        kills = max(0, round(rng.gauss(3 * s, 1.5)))
        deaths = max(0, round(rng.gauss(4 / s, 1.2)))
        assists = max(0, round(rng.gauss(3 * s, 1.5)))
        lane = jungle = 0
    else:
        cs_rate = (1.3 if support else TIER_CS[TIERS.index(p.tier)]) * s**0.5
        kills = max(0, round(rng.gauss((7 if aram else 4.5) * s, 2) * pace))
        deaths = max(0, round(rng.gauss((7 if aram else 5.5) / s, 1.8) * pace))
        assists = max(0, round(rng.gauss((18 if aram else 11 if support else 6.5) * s, 3) * pace))
        lane = round(cs_rate * minutes * rng.uniform(0.88, 1.12) * (0.6 if aram else 1))
        jungle = round(lane * (0.8 if jungle_role else 0.05 if not aram else 0))
    champ_damage = round((280 if support else 650) * s * minutes * rng.uniform(0.8, 1.2))
    if aram or arena:
        champ_damage = round(champ_damage * 1.6)
    taken = round(champ_damage * rng.uniform(0.8, 1.6))
    total_dealt = champ_damage + (lane + jungle) * rng.randint(80, 160)
    phys, magic = _split(champ_damage, rng)
    phys_all, magic_all = _split(total_dealt, rng)
    phys_taken, magic_taken = _split(taken, rng)
    gold = round((280 + 120 * s) * minutes * rng.uniform(0.9, 1.1))
    vision = (
        0 if (aram or arena) else round(minutes * (2.4 if support else 0.9) * rng.uniform(0.8, 1.2))
    )
    wards = 0 if (aram or arena) else round(vision * rng.uniform(0.3, 0.6))
    champion_id, champion = rng.choice(CHAMPIONS)
    level = 18 if arena else min(18, max(1, round(minutes / 1.8 * s**0.3)))
    multi = [round(kills * f) for f in (0.2, 0.05, 0.01, 0.002)]
    items = _items(arena, rng)
    tower = 0 if arena else rng.randint(0, 3)
    smite, flash, teleport = 11, 4, 12
    spells = (2202, 2201) if arena else (32, flash) if aram else (
        (smite, flash) if jungle_role else (teleport, flash) if position == "TOP" else (14, flash)
    )  # fmt: skip
    riot_name = {"none": None, "empty": "", "set": p.game_name}[era.riot_id]
    values = {
        "assists": assists,
        "baronKills": 1 if jungle_role and rng.random() < 0.3 else 0,
        "bountyLevel": rng.randint(0, 8),
        "champExperience": level * 950 + rng.randint(0, 900),
        "champLevel": level,
        "championId": champion_id,
        "championName": champion,
        "championTransform": 0,
        "consumablesPurchased": rng.randint(0, 6),
        "damageDealtToBuildings": tower * rng.randint(900, 3000),
        "damageDealtToEpicMonsters": rng.randint(8000, 30000)
        if jungle_role
        else rng.randint(0, 3000),
        "damageDealtToObjectives": tower * 2500 + (20000 if jungle_role else rng.randint(0, 5000)),
        "damageDealtToTurrets": tower * rng.randint(900, 3000),
        "damageSelfMitigated": round(taken * rng.uniform(0.3, 1.2)),
        "deaths": deaths,
        "detectorWardsPlaced": round(wards * 0.2),
        "doubleKills": multi[0],
        "dragonKills": rng.randint(0, 3) if jungle_role else 0,
        "eligibleForProgression": True,
        "firstBloodAssist": False,
        "firstBloodKill": False,
        "firstTowerAssist": False,
        "firstTowerKill": False,
        "gameEndedInEarlySurrender": plan.remake,
        "gameEndedInSurrender": not plan.remake and rng.random() < 0.15,
        "goldEarned": gold,
        "goldSpent": round(gold * rng.uniform(0.8, 1.0)),
        "individualPosition": position or "Invalid",
        "inhibitorKills": rng.randint(0, 1) if not arena else 0,
        "inhibitorTakedowns": rng.randint(0, 2) if not arena else 0,
        "inhibitorsLost": rng.randint(0, 2) if not arena else 0,
        **{f"item{i}": item for i, item in enumerate(items)},
        "itemsPurchased": rng.randint(8, 30),
        "killingSprees": min(kills, rng.randint(0, 3)),
        "kills": kills,
        "lane": LANES.get(position, "NONE"),
        "largestCriticalStrike": rng.choice([0, 0, rng.randint(200, 900)]),
        "largestKillingSpree": min(kills, rng.randint(0, 6)),
        "largestMultiKill": next((i + 2 for i in range(3, -1, -1) if multi[i]), 1 if kills else 0),
        "longestTimeSpentLiving": round(
            plan.duration_s / max(1, deaths + 1) * rng.uniform(0.8, 1.6)
        ),
        "magicDamageDealt": magic_all,
        "magicDamageDealtToChampions": magic,
        "magicDamageTaken": magic_taken,
        "missions": {f"playerScore{i}": 0 for i in range(12)},
        "needVisionPings": rng.randint(0, 2),
        "neutralMinionsKilled": jungle,
        "nexusKills": 0,
        "nexusLost": 0 if seat.win or arena else 1,
        "nexusTakedowns": 1 if seat.win and not arena and rng.random() < 0.4 else 0,
        "objectivesStolen": 0,
        "objectivesStolenAssists": 0,
        "participantId": seat.slot + 1,
        "pentaKills": multi[3],
        "perks": _perks(arena, rng),
        "physicalDamageDealt": phys_all,
        "physicalDamageDealtToChampions": phys,
        "physicalDamageTaken": phys_taken,
        "placement": seat.placement,
        **{
            f"playerAugment{i}": rng.randint(1, 200) if arena and i <= 4 else 0 for i in range(1, 7)
        },
        "playerSubteamId": seat.subteam,
        "profileIcon": p.icon,
        "puuid": p.puuid,
        "quadraKills": multi[2],
        "riotIdGameName": riot_name,
        "riotIdName": riot_name,
        "riotIdTagline": p.tag_line if era.riot_id == "set" else "",
        "role": ROLES.get(position, "SUPPORT"),
        "roleBoundItem": rng.choice(BOOTS) if plan.queue in RIFT else 0,
        "sightWardsBoughtInGame": 0,
        **{f"spell{i}Casts": rng.randint(20, 250) for i in range(1, 4)},
        "spell4Casts": rng.randint(2, 20),
        "subteamPlacement": seat.placement,
        "summoner1Casts": rng.randint(1, 8),
        "summoner1Id": spells[0],
        "summoner2Casts": rng.randint(1, 6),
        "summoner2Id": spells[1],
        "summonerId": _summoner_id(p),
        "summonerLevel": p.level,
        "summonerName": p.game_name if era.summoner_name else "",
        "teamEarlySurrendered": plan.remake,
        "teamId": seat.team,
        "teamPosition": position,
        "timeCCingOthers": rng.randint(0, 60),
        "timePlayed": plan.duration_s,
        "totalAllyJungleMinionsKilled": round(jungle * 0.9),
        "totalDamageDealt": total_dealt,
        "totalDamageDealtToChampions": champ_damage,
        "totalDamageShieldedOnTeammates": rng.randint(0, 6000) if support else 0,
        "totalDamageTaken": taken,
        "totalEnemyJungleMinionsKilled": jungle - round(jungle * 0.9),
        "totalHeal": rng.randint(500, 12000),
        "totalHealsOnTeammates": rng.randint(0, 8000) if support else 0,
        "totalMinionsKilled": lane - jungle if jungle_role else lane,
        "totalTimeCCDealt": rng.randint(0, 600),
        "totalTimeSpentDead": deaths * rng.randint(15, 45),
        "totalUnitsHealed": rng.randint(1, 5),
        "tripleKills": multi[1],
        "trueDamageDealt": total_dealt - phys_all - magic_all,
        "trueDamageDealtToChampions": champ_damage - phys - magic,
        "trueDamageTaken": taken - phys_taken - magic_taken,
        "turretKills": tower,
        "turretTakedowns": tower + rng.randint(0, 2) if not arena else 0,
        "turretsLost": rng.randint(0, 11) if not arena else 0,
        "unrealKills": 0,
        "visionScore": vision,
        "visionWardsBoughtInGame": round(wards * 0.2),
        "wardsKilled": round(wards * 0.4),
        "wardsPlaced": wards,
        "win": seat.win,
    }
    for key in _PINGS | {"baitPings", "retreatPings"}:
        values[key] = rng.choice([0, 0, 0, 1, 2, rng.randint(3, 20)])
    for key in SCORES:
        values[key] = 0
    values["challenges"] = _challenge_values(values, seat, plan, minutes, rng)
    return values


def _split(total: int, rng: random.Random) -> tuple[int, int]:
    """(physical, magic) parts of a damage total; the rest is true damage."""
    physical = round(total * rng.uniform(0.1, 0.85))
    magic = round((total - physical) * rng.uniform(0.7, 0.95))
    return physical, magic


def _items(arena: bool, rng: random.Random) -> list[int]:
    if arena:
        chosen = rng.sample(ARENA_ITEMS, rng.randint(3, 6))
        return [*chosen, *[0] * (6 - len(chosen)), 3348]
    chosen = [rng.choice(BOOTS), *rng.sample(LEGENDARY, rng.randint(1, 4))]
    chosen += rng.sample([1055, 1056, 1054, 2055, 1036, 1028, 3067], 5 - len(chosen))
    return [*chosen, 0, rng.choice([3340, 3364, 3363])]


def _perks(arena: bool, rng: random.Random) -> dict:
    """The runes: 0 everywhere in Arena (it has none), a primary and secondary tree elsewhere."""

    def picks(n, tree):
        return [
            {
                "perk": 0 if arena else tree + rng.randint(1, 40),
                "var1": 0 if arena else rng.randint(0, 2000),
                "var2": 0 if arena else rng.randint(0, 300),
                "var3": 0,
            }
            for _ in range(n)
        ]

    primary, secondary = rng.sample([8000, 8100, 8200, 8300, 8400], 2)
    return {
        "statPerks": {
            "defense": 0 if arena else rng.choice([5001, 5011, 5013]),
            "flex": 0 if arena else 5008,
            "offense": 0 if arena else rng.choice([5005, 5008]),
        },
        "styles": [
            {"description": "primaryStyle", "selections": picks(4, primary),
             "style": 0 if arena else primary},
            {"description": "subStyle", "selections": picks(2, secondary),
             "style": 0 if arena else secondary},
        ],
    }  # fmt: skip


def _summoner_id(player) -> str:
    return player.puuid[::-1][:48]


def _challenge_values(v: dict, seat: Seat, plan, minutes: float, rng: random.Random) -> dict:
    """Every challenge any era has, for this participant (team shares filled in later)."""
    kills, deaths, assists = v["kills"], v["deaths"], v["assists"]
    jungle_role = seat.position == "JUNGLE"
    out = {key: 0 for key in _C_12_9 | _C_CURRENT}
    out.update(
        kda=round((kills + assists) / max(1, deaths), 4) if deaths else float(kills + assists),
        takedowns=kills + assists,
        deathsByEnemyChamps=deaths,
        killingSprees=v["killingSprees"],
        multikills=v["doubleKills"],
        soloKills=min(kills, rng.randint(0, 3)),
        abilityUses=v["spell1Casts"] + v["spell2Casts"] + v["spell3Casts"] + v["spell4Casts"],
        damagePerMinute=v["totalDamageDealtToChampions"] / minutes,
        goldPerMinute=v["goldEarned"] / minutes,
        visionScorePerMinute=v["visionScore"] / minutes,
        gameLength=plan.duration_s + rng.random(),
        laneMinionsFirst10Minutes=0
        if jungle_role
        else min(v["totalMinionsKilled"], rng.randint(40, 85)),
        jungleCsBefore10Minutes=float(rng.randint(40, 70)) if jungle_role else 0,
        controlWardsPlaced=v["detectorWardsPlaced"],
        stealthWardsPlaced=max(0, v["wardsPlaced"] - v["detectorWardsPlaced"]),
        wardTakedowns=v["wardsKilled"],
        turretTakedowns=v["turretTakedowns"],
        turretPlatesTaken=rng.randint(0, 4),
        skillshotsDodged=rng.randint(0, 40),
        skillshotsHit=rng.randint(0, 40),
        enemyChampionImmobilizations=rng.randint(0, 100),
        effectiveHealAndShielding=float(
            v["totalHealsOnTeammates"] + v["totalDamageShieldedOnTeammates"]
        ),
        bountyGold=rng.choice([0, 0, 150, 300, 450]),
        playedChampSelectPosition=1,
        legendaryCount=rng.randint(0, 3),
        legendaryItemUsed=[i for i in (v["item1"], v["item2"]) if i in LEGENDARY],
        visionScoreAdvantageLaneOpponent=round(rng.uniform(-1.5, 1.5), 6),
        maxCsAdvantageOnLaneOpponent=float(rng.randint(0, 60)),
        maxLevelLeadLaneOpponent=rng.randint(0, 3),
        alliedJungleMonsterKills=v["totalAllyJungleMinionsKilled"],
        enemyJungleMonsterKills=v["totalEnemyJungleMinionsKilled"],
        initialBuffCount=rng.randint(0, 2) if jungle_role else 0,
        initialCrabCount=rng.randint(0, 2) if jungle_role else 0,
        scuttleCrabKills=rng.randint(0, 4) if jungle_role else 0,
        mythicItemUsed=v["item1"],
        firstTurretKilledTime=rng.uniform(500, 900),
        earliestDragonTakedown=rng.uniform(400, 1300),
        earliestBaron=rng.uniform(1200, 1700),
        baronBuffGoldAdvantageOverThreshold=1,
        fastestLegendary=rng.uniform(500, 900),
        shortestTimeToAceFromFirstTakedown=rng.uniform(10, 60),
        controlWardTimeCoverageInRiverOrEnemyHalf=rng.random(),
        teleportTakedowns=rng.randint(0, 3),
        soloTurretsLategame=rng.randint(0, 2),
        highestChampionDamage=1,
        highestWardKills=1,
        highestCrowdControlScore=1,
    )
    return out


def _team_challenges(values: list[dict], seats: list[Seat], rng: random.Random) -> None:
    """The shares only a team gives: kill participation, damage shares; the game's highest."""
    for team in {s.team for s in seats}:
        members = [v for v, s in zip(values, seats, strict=True) if s.team == team]
        team_kills = sum(v["kills"] for v in members) or 1
        team_damage = sum(v["totalDamageDealtToChampions"] for v in members) or 1
        team_taken = sum(v["totalDamageTaken"] for v in members) or 1
        for v in members:
            c = v["challenges"]
            c["killParticipation"] = round((v["kills"] + v["assists"]) / team_kills, 4)
            c["teamDamagePercentage"] = round(v["totalDamageDealtToChampions"] / team_damage, 4)
            c["damageTakenOnTeamPercentage"] = round(v["totalDamageTaken"] / team_taken, 4)
            c["teamBaronKills"] = sum(m["baronKills"] for m in members)
    highest = {
        "highestChampionDamage": max(values, key=lambda v: v["totalDamageDealtToChampions"]),
        "highestWardKills": max(values, key=lambda v: v["wardsKilled"]),
        "highestCrowdControlScore": max(values, key=lambda v: v["timeCCingOthers"]),
    }
    for v in values:
        v["challenges"]["_highest"] = {name for name, top in highest.items() if top is v}


def _challenges_for(challenges: dict, era: Era, seat: Seat) -> dict:
    """The challenges this participant's answer has in this era (conditional ones only when they
    apply: a jungler's, a laner's, the game's highest, an event that happened)."""
    v = challenges
    keys = set(era.challenge_keys)
    if seat.position != "JUNGLE":
        keys -= _JUNGLER_ONLY
    if seat.position in ("JUNGLE", ""):
        keys -= _LANER_ONLY
    conditional = {
        "earliestDragonTakedown": seat.slot % 3 == 0,
        "earliestBaron": seat.win and seat.slot % 5 == 1,
        "baronBuffGoldAdvantageOverThreshold": seat.win and seat.slot % 5 == 1,
        "firstTurretKilledTime": True,
        "fastestLegendary": seat.slot % 4 == 0,
        "shortestTimeToAceFromFirstTakedown": seat.win,
        "controlWardTimeCoverageInRiverOrEnemyHalf": v["controlWardsPlaced"] > 0,
        "teleportTakedowns": seat.position == "TOP",
        "soloTurretsLategame": seat.position in ("TOP", "MIDDLE") and seat.win,
        "mythicItemUsed": seat.slot % 2 == 0,
    }
    keys -= {k for k, present in conditional.items() if not present}
    keys -= _HIGHEST - v.get("_highest", set())
    return {k: v[k] for k in sorted(keys)}


def _teams(values: list[dict], seats: list[Seat], plan, rng: random.Random) -> list[dict]:
    day = when(plan.start_ms)
    objectives = ["baron", "champion", "dragon", "inhibitor", "riftHerald", "tower"]
    if day.year >= 2024:
        objectives.append("horde")
    if day >= datetime(2025, 1, 8, tzinfo=UTC):
        objectives.append("atakhan")
    drafted = plan.queue in (420, 440, 400)
    counts, won = {}, {}
    for team in (100, 200):
        members = [v for v, s in zip(values, seats, strict=True) if s.team == team]
        won[team] = any(s.win for s in seats if s.team == team)
        counts[team] = {
            "baron": sum(v["baronKills"] for v in members),
            "champion": sum(v["kills"] for v in members),
            "dragon": sum(v["dragonKills"] for v in members),
            "inhibitor": sum(v["inhibitorKills"] for v in members),
            "riftHerald": rng.randint(0, 1),
            "tower": sum(v["turretKills"] for v in members),
            "horde": rng.randint(0, 6),
            "atakhan": rng.randint(0, 1),
        }
    teams = []
    for n, (team, other) in enumerate(((100, 200), (200, 100))):
        mine, theirs = counts[team], counts[other]

        def first(name, mine=mine, theirs=theirs, team=team):
            # one team took it first: the winner when both took some
            return mine[name] > 0 and (theirs[name] == 0 or won[team])

        entry = {
            "bans": [
                {"championId": rng.choice(CHAMPIONS)[0], "pickTurn": n * 5 + i + 1}
                for i in range(5)
            ]
            if drafted
            else [],
            "objectives": {
                name: {"first": first(name), "kills": mine[name]} for name in objectives
            },
            "teamId": team,
            "win": won[team],
        }
        if day >= datetime(2025, 1, 8, tzinfo=UTC):
            entry["feats"] = {
                name: {"featState": rng.randint(0, 3) if won[team] else rng.randint(0, 1)}
                for name in ("EPIC_MONSTER_KILL", "FIRST_BLOOD", "FIRST_TURRET")
            }
        teams.append({k: entry[k] for k in sorted(entry)})
    return teams
