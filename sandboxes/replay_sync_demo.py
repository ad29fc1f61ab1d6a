"""replay_sync demo: replays to sync, and an S3-compatible server to sync them to, on one machine.

    uv run python -m sandboxes.replay_sync_demo seed           # a few replays per character
    uv run python -m sandboxes.replay_sync_demo serve          # moto's S3 API on 127.0.0.1:9000

`seed` writes generated v3.13.0 replays (valid for peppi-py) into `SLP_ROOT/<character>/` for
every character of `REPLAY_SYNC_CHARACTERS` whose folder is empty; `serve` runs moto's S3 server
(a dev dependency) with a `replays` bucket and prints the variables that point the pipeline at it.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from assets.replay_sync.characters import SLUG_TO_EXTERNAL, parse_character_list
from sandboxes.slp_writer import random_spec, write_replay


def seed_replays(slp_root: Path, characters: list[str], per_character: int) -> dict[str, int]:
    """Write `per_character` replays into each empty character folder; return what was written."""
    written = {}
    for offset, character in enumerate(characters):
        folder = slp_root / character
        if folder.is_dir() and any(folder.iterdir()):
            continue
        for i in range(per_character):
            seed = offset * 1000 + i
            write_replay(
                folder / f"Game_{seed:06d}.slp", random_spec(SLUG_TO_EXTERNAL[character], seed)
            )
        written[character] = per_character
    return written


def serve(port: int, bucket: str) -> None:
    from moto.server import ThreadedMotoServer

    from resources.object_store import make_s3_client

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    make_s3_client(endpoint, "us-east-1", "demo-key-id", "demo-secret").create_bucket(Bucket=bucket)
    print(
        f"S3 API on {endpoint}, bucket {bucket!r}. In the shell that runs Dagster:\n"
        f"  export REPLAY_SYNC_ENDPOINT_URL={endpoint} REPLAY_SYNC_BUCKET={bucket}\n"
        "  export REPLAY_SYNC_ACCESS_KEY_ID=demo-key-id REPLAY_SYNC_SECRET_ACCESS_KEY=demo-secret\n"
        "(in-memory: the bucket is empty again after a restart). Ctrl-C stops it.",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    seed = sub.add_parser("seed", help="generate replays into empty character folders")
    seed.add_argument("--slp-root", default=os.environ.get("SLP_ROOT", "data/slp"))
    seed.add_argument("--per-character", type=int, default=5)
    srv = sub.add_parser("serve", help="run an S3-compatible server (moto) on loopback")
    srv.add_argument("--port", type=int, default=9000)
    srv.add_argument("--bucket", default="replays")
    args = parser.parse_args()
    if args.command == "seed":
        characters = parse_character_list(os.environ.get("REPLAY_SYNC_CHARACTERS"))
        written = seed_replays(Path(args.slp_root), characters, args.per_character)
        print(f"wrote {written or 'nothing (folders not empty)'} under {args.slp_root}")
    else:
        serve(args.port, args.bucket)


if __name__ == "__main__":
    main()
