"""Imports go one way, pipelines/ -> schedules/ -> assets/ -> resources/, also inside functions
(a lazy import is still a dependency): every import statement of every module is checked."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["pipelines", "schedules", "assets", "resources"]  # each may import only those after it


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", LAYERS[1:])
def test_no_module_imports_a_layer_above_its_own(layer):
    above = set(LAYERS[: LAYERS.index(layer)])
    wrong = {
        path.relative_to(ROOT).as_posix(): sorted(_imports(path) & above)
        for path in sorted((ROOT / layer).rglob("*.py"))
        if _imports(path) & above
    }
    assert not wrong, f"{layer}/ must not import {sorted(above)}: {wrong}"
