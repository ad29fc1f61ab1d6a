"""The riot pipeline's assets: tracked League of Legends players kept fresh from the Riot API
(`tracked_player_updates`), smurf/boosted analyses of the players they meet (`player_analyses`),
ban checks of the detected accounts (`ban_checks`), one module each; what they share in
`spec.py` (keys, the API pool) and `stage.py` (running a stage, its metadata); the work itself in
plain modules (`flows.py`, `detection.py`, `matches.py`); the player tracking op in
`player_tracking.py` (its job is in schedules/riot.py)."""
