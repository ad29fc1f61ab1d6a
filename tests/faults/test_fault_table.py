"""Every row of the fault table (docs/reliability.md) names tests that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "reliability.md"


def test_every_row_of_the_fault_table_names_tests_that_exist():
    rows = [line for line in TABLE.read_text().splitlines() if line.startswith("| ")]
    fault_rows = [r for r in rows if not r.startswith(("| fault", "|---"))]
    assert len(fault_rows) >= 40
    missing = []
    for row in fault_rows:
        test_cell = row.rstrip(" |").rsplit(" | ", 1)[-1]
        named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]]*\])?`", test_cell)
        if not named and "same test" not in test_cell:
            missing.append(f"no test named: {row[:80]}")
        for path, name in named:
            file = ROOT / path
            functions = (
                {
                    n.name
                    for n in ast.walk(ast.parse(file.read_text()))
                    if isinstance(n, ast.FunctionDef)
                }
                if file.exists()
                else set()
            )
            if name not in functions:
                missing.append(f"{path}::{name}")
    assert not missing, missing
