"""bin/dagster and bin/dg: run the `dagster` or `dg` console script of the environment with one
warning filter, Dagster's SupersessionWarning ("Use 'dg launch --assets <selection>' instead"): a
user of bin/dagster chose that form, and the README says what dg offers instead."""

from __future__ import annotations

import os
import runpy
import shutil
import sys
import warnings

import dagster

if __name__ == "__main__":
    tool, args = sys.argv[1], sys.argv[2:]
    script = shutil.which(tool)
    if script is None:
        sys.exit(f"{tool} is not installed in this environment: run `uv sync --locked`")
    warnings.filterwarnings("ignore", category=dagster.SupersessionWarning)
    sys.argv = [tool, *args]
    sys.path[0] = os.path.dirname(script)  # as when the console script runs by itself
    runpy.run_path(script, run_name="__main__")
