"""A pull (sync_down) in its own process, spawned by the concurrency and kill tests.

python -m tests.replay_sync.pull_worker ENDPOINT BUCKET PREFIX DESTINATION
(credentials: the moto server's, from REPLAY_SYNC_* variables the test sets)."""

import os
import sys

from resources.replay_sync.engine import LocalTree, sync_down
from resources.replay_sync.store import ReplayStoreResource

if __name__ == "__main__":
    endpoint, bucket, prefix, destination = sys.argv[1:5]
    store = ReplayStoreResource(
        bucket=bucket,
        endpoint_url=endpoint,
        region=os.environ["REPLAY_SYNC_REGION"],
        access_key_id=os.environ["REPLAY_SYNC_ACCESS_KEY_ID"],
        secret_access_key=os.environ["REPLAY_SYNC_SECRET_ACCESS_KEY"],
    )
    report = sync_down(store.tree(prefix), LocalTree(destination), workers=1)
    print(f"transferred={report.transferred_files}")
