"""Layers: ``bars`` is measurement only; only the layers above it import ``workflows``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import galaxy_xai

PACKAGE = Path(galaxy_xai.__file__).parent
#: What ``bars`` (its commands included) must not import: training and simulation
#: belong to the workflows above it.
NOT_BELOW_BARS = ("workflows", "train", "simulate", "zoo", "demo")
#: The subpackages allowed to import ``galaxy_xai.workflows``.
ABOVE_WORKFLOWS = ("workflows", "zoo", "demo")


def _imports(path: Path) -> set[str]:
    """Every ``galaxy_xai.*`` module a file imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n.startswith("galaxy_xai.")}


@pytest.mark.parametrize("path", sorted((PACKAGE / "bars").glob("*.py")), ids=lambda p: p.name)
def test_bars_imports_no_workflow_training_or_simulation(path: Path) -> None:
    bad = {n for n in _imports(path) if n.split(".")[1] in NOT_BELOW_BARS}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_only_the_layers_above_import_workflows() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        part = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if part in ABOVE_WORKFLOWS:
            continue
        if any(n.startswith("galaxy_xai.workflows") for n in _imports(path)):
            offenders.append(str(path.relative_to(PACKAGE)))
    assert not offenders, offenders
