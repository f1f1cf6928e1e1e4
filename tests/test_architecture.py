"""The imports between subpackages follow the layers of ``docs/architecture.md``.

The allowed arrows are read from the table between the ``allowed-imports`` markers of
that file, so the documentation is the rule; every module of ``src/galaxy_xai`` is
parsed with :mod:`ast` (imports inside functions, ``if TYPE_CHECKING:`` blocks,
``from galaxy_xai import x`` and ``importlib.import_module("galaxy_xai.x")`` included).
"""

from __future__ import annotations

import ast
import graphlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "galaxy_xai"
DOC = ROOT / "docs" / "architecture.md"
#: The package root itself (``from galaxy_xai import __version__``): importable by all.
PACKAGE_ROOT = "galaxy_xai"
CLI_TYPES = "cli_types"
COMMANDS = "commands"

#: Arrows the layers forbid but the code still has, each with the change that removes
#: it. TEMPORARY: delete an entry when that change is merged (the test below fails once
#: an entry is no longer needed, so none outlives its reason).
TEMPORARY_ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    """One import of a galaxy_xai module found in a source file."""

    file: Path
    line: int
    importer: str  # the importing package (or top-level module)
    is_commands: bool  # the importer is ``X/commands.py`` (or ``X_commands.py``)
    target: str  # the imported package, or PACKAGE_ROOT
    target_is_commands: bool  # ``galaxy_xai.Y.commands`` itself

    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def _names(cell: str) -> list[str]:
    """Package names of one table cell (``-`` is none; backticks are markup)."""
    cell = cell.replace("`", "").strip()
    return [] if cell in ("-", "") else [n.strip() for n in cell.split(",")]


def read_allowed_table(text: str) -> dict[str, set[str]]:
    """``{package: packages it may import}`` from the table of ``docs/architecture.md``.

    A row named ``*group*`` defines a group that other rows use as ``*group*``.
    """
    match = re.search(
        r"<!-- allowed-imports: begin -->(.*?)<!-- allowed-imports: end -->", text, flags=re.S
    )
    assert match, f"{DOC} lacks the allowed-imports table markers"
    rows = [line.strip().strip("|").split("|") for line in match.group(1).strip().splitlines()]
    rows = [r for r in rows[2:] if len(r) == 2]  # skip the header and its rule
    groups: dict[str, list[str]] = {}
    raw: dict[str, list[str]] = {}
    for left, right in rows:
        names = _names(left)
        if len(names) == 1 and names[0].startswith("*"):
            groups[names[0]] = _names(right)
            continue
        for name in names:
            assert name not in raw, f"{DOC}: package {name!r} has two rows"
            raw[name] = _names(right)
    allowed: dict[str, set[str]] = {}
    for name, cells in raw.items():
        expanded: set[str] = set()
        for cell in cells:
            expanded.update(groups.get(cell, [cell]))
        unknown = expanded - set(raw)
        assert not unknown, f"{DOC}: row {name!r} names unknown packages {sorted(unknown)}"
        allowed[name] = expanded - {name}
    return allowed


def _unit(path: Path) -> tuple[str, bool]:
    """``(package or top-level module, is a commands module)`` of a source file."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts == ("__init__",):
        return PACKAGE_ROOT, False
    if len(parts) == 1:
        name = parts[0]
        if name.endswith("_" + COMMANDS) and (PACKAGE / name.removesuffix("_commands")).is_dir():
            return name.removesuffix("_" + COMMANDS), True  # e.g. demo_commands.py
        return name, False
    return parts[0], parts[1:] == (COMMANDS,)


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _literal_prefix(node: ast.expr) -> str | None:
    """The text of a string literal, or the literal start of an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def _imported_modules(path: Path, tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(line, dotted module name)`` of every import in a parsed file."""
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base == PACKAGE_ROOT:  # ``from galaxy_xai import x``: x may be a package
                for alias in node.names:
                    yield node.lineno, f"{base}.{alias.name}"
            else:
                yield node.lineno, base
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            text = _literal_prefix(node.args[0]) if name == "import_module" else None
            if text is not None:
                yield node.lineno, text


def _package_names() -> set[str]:
    """Subpackages and top-level modules of galaxy_xai (what an import can name)."""
    names = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    return names | {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def imports_in(path: Path, source: str) -> list[Import]:
    """Every import of another galaxy_xai package in the source of ``path``."""
    known = _package_names()
    importer, is_commands = _unit(path)
    found = []
    tree = ast.parse(source, filename=str(path))
    for line, module in sorted(_imported_modules(path, tree)):
        parts = module.split(".")
        if parts[0] != PACKAGE_ROOT:
            continue
        target = parts[1] if len(parts) > 1 and parts[1] in known else PACKAGE_ROOT
        target_is_commands = len(parts) > 2 and parts[2] == COMMANDS
        if target != importer or target_is_commands:
            found.append(Import(path, line, importer, is_commands, target, target_is_commands))
    return found


def find_imports() -> list[Import]:
    """Every import of one galaxy_xai package by another, in every source file."""
    return [
        imp
        for path in sorted(PACKAGE.rglob("*.py"))
        for imp in imports_in(path, path.read_text(encoding="utf-8"))
    ]


def allowed_for(imp: Import, table: dict[str, set[str]]) -> set[str]:
    """What the importer of ``imp`` may import (commands: its package's rule + more)."""
    allowed = set(table.get(imp.importer, set()))
    if imp.is_commands:
        allowed |= {imp.importer, CLI_TYPES}
    else:
        allowed |= {t for (i, t) in TEMPORARY_ALLOWED if i == imp.importer}
    return allowed | {PACKAGE_ROOT}


def forbidden(imports: list[Import], table: dict[str, set[str]]) -> list[str]:
    """One line per forbidden arrow: file, line, arrow and what is allowed instead."""
    problems = []
    for imp in imports:
        who = f"{imp.importer}/{COMMANDS}.py" if imp.is_commands else imp.importer
        if imp.target_is_commands and imp.importer != "cli":
            problems.append(
                f"{imp.where()}: {who} -> {imp.target}.{COMMANDS} "
                "(only cli imports a commands module)"
            )
            continue
        allowed = allowed_for(imp, table)
        if imp.target not in allowed:
            shown = ", ".join(sorted(allowed - {PACKAGE_ROOT})) or "nothing"
            problems.append(
                f"{imp.where()}: {who} -> {imp.target} is not an allowed "
                f"arrow ({who} may import: {shown})"
            )
    return problems


@pytest.fixture(scope="module")
def table() -> dict[str, set[str]]:
    return read_allowed_table(DOC.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return find_imports()


def test_no_forbidden_import(table: dict[str, set[str]], imports: list[Import]) -> None:
    problems = forbidden(imports, table)
    assert not problems, "imports against docs/architecture.md:\n" + "\n".join(problems)


def test_every_package_has_a_row(table: dict[str, set[str]]) -> None:
    units = {_unit(p)[0] for p in PACKAGE.rglob("*.py")} - {PACKAGE_ROOT}
    missing = sorted(units - set(table))
    assert not missing, f"add a row to the table of {DOC.name} for: {', '.join(missing)}"


def test_allowed_arrows_have_no_cycle(table: dict[str, set[str]]) -> None:
    graph = {name: allowed for name, allowed in table.items()}
    for importer, target in TEMPORARY_ALLOWED:
        graph[importer] = graph[importer] | {target}
    order = list(graph_order(graph))
    assert order.index("errors") < order.index("data") < order.index("models")
    assert order.index("models") < order.index("train") < order.index("zoo")


def graph_order(graph: dict[str, set[str]]) -> Iterator[str]:
    """Packages bottom to top; raises :class:`graphlib.CycleError` on a loop."""
    yield from graphlib.TopologicalSorter(graph).static_order()


def test_temporary_entries_are_still_needed(imports: list[Import]) -> None:
    used = {(i.importer, i.target) for i in imports if not i.is_commands}
    stale = [
        f"{a} -> {b} ({why})" for (a, b), why in TEMPORARY_ALLOWED.items() if (a, b) not in used
    ]
    assert not stale, "remove from TEMPORARY_ALLOWED, no longer needed: " + "; ".join(stale)


def test_the_rule_holds_for_what_it_was_written_for(table: dict[str, set[str]]) -> None:
    # The arrows issue #17 names: users of a trained network do not need train.
    for package in ("explain", "distill", "report", "features"):
        assert "train" not in table[package] and "models" in table[package], package
    assert not {"train", "simulate", "workflows"} & table["bars"]
    assert "cli_types" not in table["data"]  # argparse types are for commands only


# ------------------------------------------------------------------ the checker itself
def test_checker_finds_every_spelling(table: dict[str, set[str]]) -> None:
    source = (
        "import galaxy_xai.train.io\n"
        "from galaxy_xai import train, __version__\n"
        "def f():\n"
        "    from galaxy_xai.train.predict import predict\n"
        "    importlib.import_module('galaxy_xai.train.run')\n"
        "from .. import train\n"
        "from ..models.trained import load_model\n"
    )
    problems = forbidden(imports_in(PACKAGE / "explain" / "dataset.py", source), table)
    assert [p.split(":")[1] for p in problems] == ["1", "2", "4", "5", "6"]
    assert all("src/galaxy_xai/explain/dataset.py" in p for p in problems)
    assert "explain -> train is not an allowed arrow (explain may import: " in problems[0]


def test_checker_rule_for_commands(table: dict[str, set[str]]) -> None:
    source = (
        "from galaxy_xai.cli_types import COUNT\n"
        "from galaxy_xai.bars.measure import measure\n"
        "from galaxy_xai.train import train\n"
        "from galaxy_xai.explain.commands import add_parser\n"
    )
    problems = forbidden(imports_in(PACKAGE / "bars" / "commands.py", source), table)
    assert [p.split(":")[1] for p in problems] == ["3", "4"]  # not the temporary entry
    assert "bars/commands.py -> explain.commands (only cli" in problems[1]
    in_library = imports_in(
        PACKAGE / "bars" / "measure.py", "from galaxy_xai.cli_types import COUNT"
    )
    lib = forbidden(in_library, table)
    assert len(lib) == 1 and "bars -> cli_types" in lib[0]


def test_table_parser_groups_and_errors() -> None:
    text = (
        "<!-- allowed-imports: begin -->\n| package | may import |\n|---|---|\n"
        "| *low* | a, b |\n| a | - |\n| b | a |\n| c, d | *low* |\n| e | *low*, c, d |\n"
        "<!-- allowed-imports: end -->"
    )
    assert read_allowed_table(text) == {
        "a": set(),
        "b": {"a"},
        "c": {"a", "b"},
        "d": {"a", "b"},
        "e": {"a", "b", "c", "d"},
    }
    with pytest.raises(AssertionError, match="unknown packages"):
        read_allowed_table(text.replace("| b | a |", "| b | x |"))
    with pytest.raises(graphlib.CycleError):
        list(graph_order({"a": {"b"}, "b": {"a"}}))
