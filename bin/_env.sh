# Shared set-up for bin/ scripts: uv on PATH, the locked environment, a local Dagster instance.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.local/bin:$PATH"
if ! command -v uv >/dev/null 2>&1; then
  echo "installing uv (the project's package manager) from PyPI..." >&2
  python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
fi
uv sync --locked --quiet
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/dagster_home}"
mkdir -p "$DAGSTER_HOME" data
