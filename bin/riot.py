"""Track, untrack and list players from the command line (runs the tracking job in process).

    bin/riot track "Name#TAG" --platform na1
    bin/riot track <puuid>
    bin/riot untrack "Name#TAG"
    bin/riot list

bin/riot runs this file in the locked environment with DAGSTER_HOME set (bin/_env.sh: the repo's
`dagster_home` unless set), so the run is recorded in the instance like one launched from the UI;
`python bin/riot.py ...` with DAGSTER_HOME unset or empty runs it without an instance. It runs the
code location's job (`pipelines.riot`'s `riot_player_tracking_job`), so it lives with the
commands, not in a layer: assets never import pipelines.
A failure is one line on stderr: the message the op raised (a database that cannot be reached
names its variable, RIOT_DATABASE_URL or POSTGRES_URL, never its password).
"""

from __future__ import annotations

import argparse
import os
import sys

from resources.redaction import redact


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/riot", description="Track Riot players")
    sub = parser.add_subparsers(dest="action", required=True)
    track = sub.add_parser("track", help="track a player by Riot ID (Name#TAG) or PUUID")
    track.add_argument("player")
    track.add_argument("--platform", default="na1", help="na1, euw1, kr, ... (default na1)")
    untrack = sub.add_parser("untrack", help="stop tracking a player")
    untrack.add_argument("player")
    sub.add_parser("list", help="list tracked players")
    args = parser.parse_args(argv)

    from dagster import DagsterInstance

    from pipelines.riot import defs

    config = {"action": args.action, "player": getattr(args, "player", "")}
    if args.action == "track":
        config["platform"] = args.platform
    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    result = defs.resolve_job_def("riot_player_tracking_job").execute_in_process(
        run_config={
            "ops": {"riot_player_tracking": {"config": config}},
            "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
        },
        instance=instance,
        raise_on_error=False,
    )
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        error = failure.step_failure_data.error if failure else None
        print(f"failed: {failure_message(error)}", file=sys.stderr)
        return 1
    players = result.output_for_node("riot_player_tracking")
    print(f"{len(players)} tracked player(s)")
    for p in players:
        rank = f"{p['tier']} {p['division']} {p['league_points']} LP" if p["tier"] else "unranked"
        # riot_id: Name#TAG, or Name alone for a player without a tag line
        print(f"  {p['riot_id']:<24} {p['platform']:<5} {rank:<22} {p['puuid']}")
    return 0


def failure_message(error) -> str:
    """The message of the exception the op raised, on one line: below Dagster's wrappers, but
    not the library error it chains (already summarised, with the variable to fix)."""
    while error is not None and error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    if error is None:
        return "see the run logs"
    message = " ".join(error.message.split())
    prefix = f"{error.cls_name}: "  # the message starts with the (module-qualified) class name
    if prefix in message[: len(prefix) + 200]:
        message = message.split(prefix, 1)[1]
    return redact(message)


if __name__ == "__main__":
    sys.exit(main())
