# Shared set-up for bin/ scripts: uv on PATH, the locked environment, a local Dagster instance.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.local/bin:$PATH"
if ! command -v uv >/dev/null 2>&1; then
  echo "installing uv (the project's package manager) from PyPI..." >&2
  python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
fi
# Compiled once per lock file: every later process start (runs, code servers, tests) then reads
# bytecode instead of compiling Dagster's sources again (seconds of CPU each, more so where
# PYTHONDONTWRITEBYTECODE is set).
compiled=".venv/.bytecode-$(sha1sum uv.lock | cut -c1-12)"
if [ -e "$compiled" ]; then
  uv sync --locked --quiet
else
  uv sync --locked --quiet --compile-bytecode && touch "$compiled"
fi
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/dagster_home}"
mkdir -p "$DAGSTER_HOME" data
