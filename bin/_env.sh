# Shared set-up for bin/ scripts: uv on PATH, the locked environment, a local Dagster instance.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.local/bin:$PATH"
if ! command -v uv >/dev/null 2>&1; then
  echo "installing uv (the project's package manager) from PyPI..." >&2
  python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
fi
# Where Python may not write its bytecode caches (PYTHONDONTWRITEBYTECODE is set, as on some CI
# machines), every process start (runs, code servers, tests) would compile Dagster's sources again,
# seconds of CPU each: the whole environment is compiled once per lock file instead (about a
# minute). Elsewhere Python caches what each process imports as it goes: a few seconds, once.
compiled=".venv/.bytecode-$(sha1sum uv.lock | cut -c1-12)"
if [ -z "${PYTHONDONTWRITEBYTECODE:-}" ] || [ -e "$compiled" ]; then
  uv sync --locked --quiet
else
  uv sync --locked --quiet --compile-bytecode && touch "$compiled"
fi
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/dagster_home}"
mkdir -p "$DAGSTER_HOME" data
# Dagster creates its SQLite storage (runs, events, schedules) in DAGSTER_HOME on first use, and
# processes that start at once on a fresh instance collide creating it ("table kvs already
# exists"): the first bin/ command creates it, under a lock. A PostgreSQL instance is left alone.
if [ ! -e "$DAGSTER_HOME/.storage-created" ] &&
  ! grep -qE '^(storage|run_storage|event_log_storage|schedule_storage):' "$DAGSTER_HOME/dagster.yaml" 2>/dev/null; then
  uv run --locked python -c '
import fcntl, sys
from pathlib import Path
home = Path(sys.argv[1])
with (home / ".storage-lock").open("a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    if not (home / ".storage-created").exists():
        from dagster import DagsterInstance
        DagsterInstance.get().dispose()
        (home / ".storage-created").touch()
' "$DAGSTER_HOME"
fi
