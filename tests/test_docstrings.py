"""Every public function that raises says so in a numpy ``Raises`` section.

The check reads the source with :mod:`ast` (nothing is imported). A function counts as
raising when its own body (nested functions, classes and lambdas aside) has a
``raise SomeError(...)`` statement; a bare ``raise`` that re-raises does not count. Its
docstring must then have a ``Raises`` section (a line ``Raises`` underlined with dashes)
that names every exception class it raises. For ``__init__`` and ``__post_init__`` the
class docstring's ``Raises`` section counts too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "galaxy_xai"

_CONSTRUCTORS = ("__init__", "__post_init__")
_FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_SECTION_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")


def _own_raises(function: ast.AST) -> Iterator[ast.Raise]:
    """Yield the ``raise X`` statements of ``function``'s own body (no nested scopes)."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, _SCOPE_NODES):
            continue
        if isinstance(node, ast.Raise) and node.exc is not None:
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _raised_class(statement: ast.Raise) -> str | None:
    """The class name raised by ``statement``, or None when it is not spelled out.

    ``raise Error(...)``, ``raise errors.Error(...)`` and ``raise Error`` name a class.
    ``raise exc`` (a variable holding an exception) and ``raise damaged(...)`` (a
    function that builds one) do not: only capitalised names are taken as classes.
    """
    target = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
    if isinstance(target, ast.Attribute):
        name = target.attr
    elif isinstance(target, ast.Name):
        name = target.id
    else:
        return None
    return name if name[:1].isupper() else None


def raises_section(docstring: str | None) -> str | None:
    """The body of the numpy ``Raises`` section of ``docstring``, or None if it has none."""
    lines = (docstring or "").splitlines()
    for index, line in enumerate(lines[:-1]):
        if line.strip() == "Raises" and _SECTION_UNDERLINE.match(lines[index + 1]):
            body: list[str] = []
            for later, text in enumerate(lines[index + 2 :], start=index + 2):
                next_line = lines[later + 1] if later + 1 < len(lines) else ""
                if text.strip() and _SECTION_UNDERLINE.match(next_line):
                    break  # the next section's title
                body.append(text)
            return "\n".join(body)
    return None


def _public_functions(
    tree: ast.Module,
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, ast.ClassDef | None]]:
    """Yield (qualified name, function, owning class) for the public functions of a module."""
    for node in tree.body:
        if isinstance(node, _FUNCTION_NODES) and not node.name.startswith("_"):
            yield node.name, node, None
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for member in node.body:
                if not isinstance(member, _FUNCTION_NODES):
                    continue
                if not member.name.startswith("_") or member.name in _CONSTRUCTORS:
                    yield f"{node.name}.{member.name}", member, node


def check_source(source: str, filename: str) -> list[str]:
    """Problems with the ``Raises`` sections of one module's public functions.

    Parameters
    ----------
    source : str
        The module's source code.
    filename : str
        The name used in the problems, as ``filename:line name ...``.

    Returns
    -------
    list of str
        One line per function that raises without a ``Raises`` section, or whose
        section does not name a class it raises; empty when all is well.
    """
    problems = []
    for name, function, owner in _public_functions(ast.parse(source)):
        statements = list(_own_raises(function))
        if not statements:
            continue
        sections = [raises_section(ast.get_docstring(function))]
        if owner is not None and function.name in _CONSTRUCTORS:
            sections.append(raises_section(ast.get_docstring(owner)))
        documented = "\n".join(section for section in sections if section is not None)
        where = f"{filename}:{function.lineno} {name}"
        if not any(section is not None for section in sections):
            problems.append(f"{where}: no Raises section")
            continue
        raised = {_raised_class(statement) for statement in statements} - {None}
        for cls in sorted(c for c in raised if c is not None):
            if not re.search(rf"\b{re.escape(cls)}\b", documented):
                problems.append(f"{where}: Raises section does not name {cls}")
    return problems


def test_every_public_function_that_raises_has_a_raises_section() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parents[1]).as_posix()
        problems.extend(check_source(path.read_text(encoding="utf-8"), relative))
    assert not problems, "missing or incomplete Raises sections:\n" + "\n".join(problems)


_SAMPLE = '''
def documented(n):
    """Do it.

    Raises
    ------
    ValueError
        If ``n`` < 0.
    errors.ParameterError
        If ``n`` is odd.
    """
    if n < 0:
        raise ValueError("negative")
    if n % 2:
        raise errors.ParameterError("n", n, "odd") from None


def undocumented(n):
    """Do it."""
    raise ValueError("no")


def incomplete(n):
    """Do it.

    Raises
    ------
    ValueError
        If ``n`` < 0.

    Notes
    -----
    KeyError is mentioned here, outside the section.
    """
    if n < 0:
        raise ValueError("negative")
    raise KeyError(n)


def reraises(n):
    """Do it."""
    try:
        return 1 / n
    except ZeroDivisionError as exc:
        log(exc)
        raise


def nested_only(n):
    """Do it."""

    def inner():
        raise ValueError("inside")

    return inner, lambda: None


def variable(exc):
    """Do it.

    Raises
    ------
    Exception
        Whatever ``exc`` is.
    """
    if exc is None:
        raise damaged("file")
    raise exc


def _private(n):
    raise ValueError("private")


class Config:
    """A config.

    Raises
    ------
    ConfigError
        If ``size`` < 1.
    """

    def __post_init__(self):
        if self.size < 1:
            raise ConfigError("size")

    def __init__(self):
        raise TypeError("never")

    def method(self):
        """Do it."""
        raise RuntimeError("no")

    def _helper(self):
        raise RuntimeError("private")


class _Hidden:
    def method(self):
        raise RuntimeError("private class")
'''


def test_checker_on_a_sample_module() -> None:
    lines = _SAMPLE.splitlines()

    def at(definition: str, name: str) -> str:
        number = next(n for n, line in enumerate(lines, 1) if line.strip().startswith(definition))
        return f"sample.py:{number} {name}"

    assert check_source(_SAMPLE, "sample.py") == [
        f"{at('def undocumented', 'undocumented')}: no Raises section",
        f"{at('def incomplete', 'incomplete')}: Raises section does not name KeyError",
        f"{at('def __init__', 'Config.__init__')}: Raises section does not name TypeError",
        f"{at('def method(self)', 'Config.method')}: no Raises section",
    ]


def test_raises_section_stops_at_the_next_section() -> None:
    doc = "Summary.\n\nRaises\n------\nValueError\n    If bad.\n\nNotes\n-----\nKeyError\n"
    section = raises_section(doc)
    assert section is not None
    assert "ValueError" in section
    assert "KeyError" not in section
    assert raises_section("Summary.\n\nRaises: ValueError if bad.\n") is None
