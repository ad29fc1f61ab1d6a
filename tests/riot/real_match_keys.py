"""The keys real match-v5 answers carry, era by era: what the sandbox's bodies are held to.

Taken from real API answers published as examples of the Riot API (match ids named below), read
key by key; `shared/reference/riot.md` gives the rules they follow (seconds since 11.20,
`summonerName` empty now, summoner and account ids gone from every payload since 7 July 2025).
Where no real answer of an era was at hand the set is derived from its neighbour, and says how.
Kept apart from `sandboxes/riot/shapes.py` on purpose: the sandbox builds its bodies from its own
tables, and tests/riot/test_sandbox_shapes.py compares what it serves with these lists.
"""

from __future__ import annotations


def _keys(text: str) -> frozenset[str]:
    return frozenset(text.split())


# NA1_4196060228, patch 12.2 (January 2022, ARAM): no challenges, no pings, empty Riot ID fields.
PARTICIPANT_12_2 = _keys("""
    assists baronKills bountyLevel champExperience champLevel championId championName
    championTransform consumablesPurchased damageDealtToBuildings damageDealtToObjectives
    damageDealtToTurrets damageSelfMitigated deaths detectorWardsPlaced doubleKills dragonKills
    firstBloodAssist firstBloodKill firstTowerAssist firstTowerKill gameEndedInEarlySurrender
    gameEndedInSurrender goldEarned goldSpent individualPosition inhibitorKills inhibitorTakedowns
    inhibitorsLost item0 item1 item2 item3 item4 item5 item6 itemsPurchased killingSprees kills
    lane largestCriticalStrike largestKillingSpree largestMultiKill longestTimeSpentLiving
    magicDamageDealt magicDamageDealtToChampions magicDamageTaken neutralMinionsKilled nexusKills
    nexusLost nexusTakedowns objectivesStolen objectivesStolenAssists participantId pentaKills
    perks physicalDamageDealt physicalDamageDealtToChampions physicalDamageTaken profileIcon puuid
    quadraKills riotIdName riotIdTagline role sightWardsBoughtInGame spell1Casts spell2Casts
    spell3Casts spell4Casts summoner1Casts summoner1Id summoner2Casts summoner2Id summonerId
    summonerLevel summonerName teamEarlySurrendered teamId teamPosition timeCCingOthers timePlayed
    totalDamageDealt totalDamageDealtToChampions totalDamageShieldedOnTeammates totalDamageTaken
    totalHeal totalHealsOnTeammates totalMinionsKilled totalTimeCCDealt totalTimeSpentDead
    totalUnitsHealed tripleKills trueDamageDealt trueDamageDealtToChampions trueDamageTaken
    turretKills turretTakedowns turretsLost unrealKills visionScore visionWardsBoughtInGame
    wardsKilled wardsPlaced win
""")

# Before patch 11.20 (derived): 12.2's keys less the building, takedown and loss counters that
# later schemas mark as absent from older matches, and less the Riot ID fields (the name was
# `summonerName` alone).
PARTICIPANT_PRE_11_20 = PARTICIPANT_12_2 - _keys("""
    damageDealtToBuildings inhibitorTakedowns inhibitorsLost nexusTakedowns nexusLost
    turretTakedowns turretsLost riotIdName riotIdTagline
""")

# EUW1_6349186754, patch 13.7 (April 2023, ranked solo): challenges and pings, Riot ID still empty.
PARTICIPANT_13_7 = PARTICIPANT_12_2 | _keys("""
    allInPings assistMePings baitPings basicPings challenges commandPings dangerPings
    eligibleForProgression enemyMissingPings enemyVisionPings getBackPings holdPings
    needVisionPings onMyWayPings pushPings visionClearedPings
""")

# EUW1_6511808246, patch 13.14 (July 2023, the first Arena): no challenges, Arena's own fields.
PARTICIPANT_ARENA_13_14 = (PARTICIPANT_13_7 - {"challenges"}) | _keys("""
    placement playerAugment1 playerAugment2 playerAugment3 playerAugment4 playerSubteamId
    subteamPlacement totalAllyJungleMinionsKilled totalEnemyJungleMinionsKilled
""")

# EUW1_7261321891, patch 15.1 (January 2025): 133 keys, the Riot ID in riotIdGameName.
PARTICIPANT_15_1 = (PARTICIPANT_ARENA_13_14 - _keys("baitPings riotIdName")) | _keys("""
    challenges missions playerAugment5 playerAugment6 retreatPings riotIdGameName
""")

# A 2025-2026 answer (a schema generated from a real body, patch 15.x): PlayerScore0-11,
# roleBoundItem, damageDealtToEpicMonsters; less summonerId, gone from every payload since
# 7 July 2025. 146 keys, as in the 2026 ranked answer issue 22 counted.
PARTICIPANT_CURRENT = (PARTICIPANT_15_1 - {"summonerId"}) | _keys("""
    PlayerScore0 PlayerScore1 PlayerScore2 PlayerScore3 PlayerScore4 PlayerScore5 PlayerScore6
    PlayerScore7 PlayerScore8 PlayerScore9 PlayerScore10 PlayerScore11 roleBoundItem
    damageDealtToEpicMonsters
""")

# challenges of EUW1_6349186754 (13.7), the union over its participants.
CHALLENGES_13_7 = _keys("""
    12AssistStreakCount abilityUses acesBefore15Minutes alliedJungleMonsterKills baronTakedowns
    blastConeOppositeOpponentCount bountyGold buffsStolen completeSupportQuestInTime
    controlWardTimeCoverageInRiverOrEnemyHalf controlWardsPlaced damagePerMinute
    damageTakenOnTeamPercentage dancedWithRiftHerald deathsByEnemyChamps
    dodgeSkillShotsSmallWindow doubleAces dragonTakedowns earliestDragonTakedown
    earlyLaningPhaseGoldExpAdvantage effectiveHealAndShielding elderDragonKillsWithOpposingSoul
    elderDragonMultikills enemyChampionImmobilizations enemyJungleMonsterKills
    epicMonsterKillsNearEnemyJungler epicMonsterKillsWithin30SecondsOfSpawn epicMonsterSteals
    epicMonsterStolenWithoutSmite flawlessAces fullTeamTakedown gameLength
    getTakedownsInAllLanesEarlyJungleAsLaner goldPerMinute hadOpenNexus immobilizeAndKillWithAlly
    initialBuffCount initialCrabCount jungleCsBefore10Minutes junglerKillsEarlyJungle
    junglerTakedownsNearDamagedEpicMonster kTurretsDestroyedBeforePlatesFall kda
    killAfterHiddenWithAlly killParticipation killedChampTookFullTeamDamageSurvived killingSprees
    killsNearEnemyTurret killsOnLanersEarlyJungleAsJungler killsOnOtherLanesEarlyJungleAsLaner
    killsOnRecentlyHealedByAramPack killsUnderOwnTurret killsWithHelpFromEpicMonster
    knockEnemyIntoTeamAndKill landSkillShotsEarlyGame laneMinionsFirst10Minutes
    laningPhaseGoldExpAdvantage legendaryCount lostAnInhibitor maxCsAdvantageOnLaneOpponent
    maxKillDeficit maxLevelLeadLaneOpponent moreEnemyJungleThanOpponent multiKillOneSpell
    multiTurretRiftHeraldCount multikills multikillsAfterAggressiveFlash mythicItemUsed
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
    wardsGuarded
""")

# challenges of 2025-2026 answers (the 15.x schema above; 15.1's answer agrees): 139 keys over
# all participants; one answer has fewer (138 in issue 22's 2026 body), since some are written
# only for a jungler, a laner, the game's highest score or an event that happened.
CHALLENGES_CURRENT = (CHALLENGES_13_7 - _keys("mythicItemUsed threeWardsOneSweeperCount")) | _keys("""
    HealFromMapSources InfernalScalePickup SWARM_DefeatAatrox SWARM_DefeatBriar
    SWARM_DefeatMiniBosses SWARM_EvolveWeapon SWARM_Have3Passives SWARM_KillEnemy
    SWARM_PickupGold SWARM_ReachLevel50 SWARM_Survive15Min SWARM_WinWith5EvolvedWeapons
    baronBuffGoldAdvantageOverThreshold earliestBaron fastestLegendary firstTurretKilled
    firstTurretKilledTime fistBumpParticipation legendaryItemUsed mejaisFullStackInTime
    soloTurretsLategame twoWardsOneSweeperCount voidMonsterKill highestChampionDamage
    shortestTimeToAceFromFirstTakedown highestWardKills teleportTakedowns highestCrowdControlScore
""")

# info keys; `gameEndTimestamp` since 11.20 (reference/riot.md), endOfGameResult in 2024-2026.
INFO_PRE_11_20 = _keys("""
    gameCreation gameDuration gameId gameMode gameName gameStartTimestamp gameType gameVersion
    mapId participants platformId queueId teams tournamentCode
""")
INFO_11_20 = INFO_PRE_11_20 | {"gameEndTimestamp"}
INFO_CURRENT = INFO_11_20 | {"endOfGameResult"}

# teams[].objectives: horde (void grubs) since 14.1, atakhan and the team's feats since 15.1.
OBJECTIVES_2021 = _keys("baron champion dragon inhibitor riftHerald tower")
OBJECTIVES_CURRENT = OBJECTIVES_2021 | _keys("horde atakhan")
FEATS = _keys("EPIC_MONSTER_KILL FIRST_BLOOD FIRST_TURRET")

# per era of the sandbox (sandboxes/riot/shapes.py ERAS): participants, challenges, info keys
ERAS = {
    "pre_11_20": (PARTICIPANT_PRE_11_20, frozenset(), INFO_PRE_11_20),
    "11_20": (PARTICIPANT_12_2, frozenset(), INFO_11_20),
    "12_9": (PARTICIPANT_13_7, CHALLENGES_13_7, INFO_11_20),
    "14_1": (PARTICIPANT_15_1, CHALLENGES_CURRENT, INFO_CURRENT),
    "current": (PARTICIPANT_CURRENT, CHALLENGES_CURRENT, INFO_CURRENT),
}
# Arena answers: 13.14's in 2023; since 2024 the era's own keys (Arena's fields are in them)
ARENA_2023 = PARTICIPANT_ARENA_13_14

assert len(PARTICIPANT_15_1) == 133 and len(PARTICIPANT_CURRENT) == 146
assert len(CHALLENGES_CURRENT) == 139
