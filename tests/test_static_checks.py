"""The code stays ruff-clean, ruff-formatted and mypy-clean (the style the repo keeps)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["src", "tests", "benchmarks"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.fail(
            f"{module} is not installed: install the test extras (pip install -e '.[test]')"
        )


def test_ruff_check_and_format() -> None:
    _require("ruff")
    lint = _run("ruff", "check", *PATHS)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _run("ruff", "format", "--check", *PATHS)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_mypy_on_the_package() -> None:
    _require("mypy")
    result = _run("mypy", "src/galaxy_xai")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
