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
