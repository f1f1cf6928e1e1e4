"""argparse helpers of the command line: bounded numbers, device counts, output paths,
defaults read from the config dataclasses, deprecated spellings, subcommand groups.

Each type turns the text of one option into its value, or raises
:class:`argparse.ArgumentTypeError` with a message holding the text and what would be
right; argparse puts the option's name in front, so a user reads, on one line::

    galaxy-xai train: error: argument --lr: 'inf' is not a finite number > 0

Numbers are finite (``nan`` and ``inf`` are refused) and inside the option's range.
This module imports nothing heavy: ``commands`` modules use it at parser build time.

Defaults live once, in the config dataclasses (or, for a short command without one,
in the keyword defaults of the function it calls): an option's argparse default is
None, :func:`defaults_from` ties it to its field, the help shows the field's default
(``(default: 50)``, looked up only when the help is printed, so that building the
parser stays free of torch), and :func:`config_from_args` resolves the file given by
``--config`` and the options given on the command line into the dataclass.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COUNT",
    "FRACTION",
    "NON_NEGATIVE",
    "POSITIVE",
    "SEED",
    "ConfigHelpFormatter",
    "Number",
    "add_config_option",
    "add_subcommands",
    "config_from_args",
    "defaults_from",
    "deprecated_alias",
    "deprecated_command",
    "deprecated_flag",
    "devices",
    "given",
    "number_list",
    "output_path",
    "show_default",
]

#: Lightning's (and numpy's legacy) seeds are unsigned 32-bit integers.
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class Number:
    """A finite ``int`` or ``float`` option in ``[low, high]``.

    Parameters
    ----------
    kind
        ``int`` or ``float``: how the text is read (``int`` refuses ``1.5`` and ``1e3``).
    low, high
        The bounds; None for none.
    low_open, high_open
        Exclude the bound itself (``low=0, low_open=True`` means ``> 0``).
    """

    kind: type[int] | type[float] = float
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __call__(self, text: str) -> Any:
        try:
            value = self.kind(text)
        except ValueError:
            value = None
        if value is None or not self._accepts(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {self.describe()}")
        return value

    def _accepts(self, value: float) -> bool:
        if self.kind is float and not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or not (
            value > self.high or (self.high_open and value == self.high)
        )

    def describe(self) -> str:
        """What the option accepts, e.g. ``"an integer >= 1"`` or ``"a number in (0, 1]"``."""
        low, high = _plain(self.low), _plain(self.high)
        if self.low is not None and self.high is not None:  # bounded: finite goes unsaid
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            noun = "an integer" if self.kind is int else "a number"
            return f"{noun} in {left}{low}, {high}{right}"
        noun = "an integer" if self.kind is int else "a finite number"
        if self.low is not None:
            return f"{noun} {'>' if self.low_open else '>='} {low}"
        if self.high is not None:
            return f"{noun} {'<' if self.high_open else '<='} {high}"
        return noun


def _plain(bound: float | None) -> str:
    """A bound as a user writes it: ``0`` and ``1000``, not ``0.0`` and ``1000.0``."""
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


#: A count of things that must exist at least once (epochs, images, workers...).
COUNT = Number(int, 1)
#: A random seed.
SEED = Number(int, 0, MAX_SEED)
#: A strictly positive finite number (learning rates, pixel scales).
POSITIVE = Number(float, 0.0, low_open=True)
#: A finite number >= 0 (a rate that may be zero, a smoothing sigma).
NON_NEGATIVE = Number(float, 0.0)
#: A fraction or probability in [0, 1].
FRACTION = Number(float, 0.0, 1.0)


def number_list(item: Number) -> Callable[[str], tuple[Any, ...]]:
    """A type reading comma-separated values (``"0.7,0.8"``), each checked by ``item``.

    An empty list (``""`` or ``","``) is refused too.
    """

    def parse(text: str) -> tuple[Any, ...]:
        parts = [v.strip() for v in text.split(",") if v.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(
                f"{text!r} holds no value; give comma-separated values, each {item.describe()}"
            )
        values = []
        for part in parts:
            try:
                values.append(item(part))
            except argparse.ArgumentTypeError as exc:
                where = f" (in {text!r})" if len(parts) > 1 else ""
                raise argparse.ArgumentTypeError(f"{exc}{where}") from None
        return tuple(values)

    parse.__name__ = "number_list"
    return parse


def str_list(text: str) -> tuple[str, ...]:
    """Comma-separated names (``"random,mean"``), blanks dropped; ``""`` gives ``()``."""
    return tuple(v.strip() for v in text.split(",") if v.strip())


def devices(text: str) -> int | str:
    """``--devices``: ``auto`` or a count of devices >= 1.

    Raises
    ------
    argparse.ArgumentTypeError
        If ``text`` is neither ``auto`` nor an integer >= 1.
    """
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(COUNT(text))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'auto' or an integer >= 1") from None


def output_path(text: str) -> str:
    """An output path, refused unless it is valid UTF-8.

    A name whose bytes are not UTF-8 reaches Python with lone surrogates; such a path
    cannot be written into the JSON and HDF5 files that record where outputs are, so a
    run written there could not be loaded again.

    Raises
    ------
    argparse.ArgumentTypeError
        If ``text`` holds characters that are not valid UTF-8 (lone surrogates).
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        from galaxy_xai.io import safe_text

        raise argparse.ArgumentTypeError(
            f"'{safe_text(text)}' is not valid UTF-8; choose a path of UTF-8 characters"
        ) from None
    return text


# --- defaults that live in the config dataclasses ------------------------------------


def _resolve_source(source: str) -> Any:
    """``"package.module:Name"`` -> the object (imported on first use)."""
    module, _, name = source.partition(":")
    return getattr(importlib.import_module(module), name)


def field_default(source: str, field: str) -> Any:
    """The default of ``field`` (dotted for a nested section: ``trainer.max_epochs``).

    ``source`` names a dataclass or a function as ``"package.module:Name"``; for a
    function, the field is a keyword parameter.

    Raises
    ------
    KeyError
        If the dataclass has no such field or the function no such parameter.
    """
    owner = _resolve_source(source)
    first, *rest = field.split(".")
    if dataclasses.is_dataclass(owner):
        spec = {f.name: f for f in dataclasses.fields(owner)}[first]
        if spec.default is not dataclasses.MISSING:
            value = spec.default
        elif spec.default_factory is not dataclasses.MISSING:
            value = spec.default_factory()
        else:
            raise KeyError(f"{source}.{first} has no default")
    else:
        value = inspect.signature(owner).parameters[first].default
        if value is inspect.Parameter.empty:
            raise KeyError(f"{owner.__name__}({first}) has no default")
    for name in rest:
        value = getattr(value, name)
    return value


def show_default(value: Any) -> str:
    """A default as a user types it: ``50``, ``0.001``, ``random,mean,full``, ``none``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return ",".join(show_default(v) for v in value) or "''"
    return str(value)


class ConfigHelpFormatter(argparse.HelpFormatter):
    """Adds ``(default: X)`` to each option tied to a config field by :func:`defaults_from`."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        source = getattr(action, "default_source", None)
        if source is None or text is argparse.SUPPRESS:
            return text
        shown = show_default(field_default(*source)).replace("%", "%%")
        return f"{text or ''} (default: {shown})".strip()


def defaults_from(
    parser: argparse.ArgumentParser | Any, source: str, fields: Mapping[str, str] | None = None
) -> None:
    """Tie options of ``parser`` to the fields of ``source`` whose defaults they take.

    Parameters
    ----------
    parser
        The (sub)parser holding the options.
    source
        ``"package.module:Dataclass"`` (or ``:function`` for a command without one).
    fields
        Option dest -> field name (dotted for a nested section); None: every option
        whose dest is a field of ``source``.

    Raises
    ------
    ValueError
        If an option has an argparse default other than None (it would hide the field's),
        or a field named in ``fields`` has no option.
    """
    actions = {a.dest: a for a in parser._actions if not isinstance(a, _DeprecatedAlias)}
    if fields is None:
        owner = _resolve_source(source)
        names = (
            [f.name for f in dataclasses.fields(owner)]
            if dataclasses.is_dataclass(owner)
            else list(inspect.signature(owner).parameters)
        )
        fields = {name: name for name in names if name in actions}
    for dest, field in fields.items():
        if dest not in actions:
            raise ValueError(f"no option with dest {dest!r} for field {field!r}")
        action = actions[dest]
        if action.default is not None:
            raise ValueError(f"option {dest!r} has default {action.default!r}; use None")
        setattr(action, "default_source", (source, field))  # noqa: B010 (read by the formatter)


def given(args: argparse.Namespace, *dests: str) -> dict[str, Any]:
    """The options among ``dests`` given on the command line (not None), by dest."""
    return {d: getattr(args, d) for d in dests if getattr(args, d, None) is not None}


def add_config_option(parser: argparse.ArgumentParser | Any, what: str) -> None:
    """Add ``--config FILE``: a YAML/TOML file of ``what``'s keys; options override it."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help=f"YAML/TOML file of {what} keys; the options given here override it",
    )


def config_from_args(
    cls: type[Any], args: argparse.Namespace, fields: Mapping[str, str] | None = None
) -> Any:
    """The dataclass ``cls`` from ``--config`` (if any) plus the options given.

    Precedence: an option given on the command line, then the file's key, then the
    dataclass default. ``fields`` maps option dest -> field (dotted for a nested
    section, e.g. ``stm.decay_every``); None: every field of ``cls``, each set by the
    option of the same dest (as :func:`defaults_from` with ``fields=None``).

    Raises
    ------
    ConfigError
        On an unknown key or a value of the wrong type in the file (the message names it).
    DataMissingError
        If the ``--config`` file does not exist.
    """
    from galaxy_xai.config import load_config

    top: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    if fields is None:
        fields = {f.name: f.name for f in dataclasses.fields(cls)}
    for dest, value in given(args, *fields).items():
        field = fields[dest]
        section, _, name = field.rpartition(".")
        if section:
            nested.setdefault(section, {})[name] = value
        else:
            top[field] = value
    config = load_config(cls, getattr(args, "config", None), **top)
    for section, values in nested.items():
        config = dataclasses.replace(
            config, **{section: dataclasses.replace(getattr(config, section), **values)}
        )
    return config


# --- deprecated spellings ------------------------------------------------------------


def warn_deprecated(old: str, new: str) -> None:
    """Warn (``FutureWarning``, shown to CLI users) that ``old`` is deprecated for ``new``."""
    warnings.warn_explicit(
        f"'{old}' is deprecated; use '{new}'", FutureWarning, filename="galaxy-xai", lineno=0
    )


class _DeprecatedAlias(argparse.Action):
    """An old option spelling: warns, then does what the new option does."""

    def __init__(self, option_strings: list[str], dest: str, *, target: argparse.Action,
                 new: str, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(
            option_strings,
            target.dest,
            nargs=target.nargs,
            const=target.const,
            type=target.type,  # type: ignore[arg-type]
            choices=target.choices,
            default=argparse.SUPPRESS,
            help=argparse.SUPPRESS,
            metavar=target.metavar,
        )
        self.target = target
        self.new = new

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:  # fmt: skip
        warn_deprecated(option_string or self.option_strings[0], self.new)
        self.target(parser, namespace, values, self.new)


def deprecated_alias(parser: argparse.ArgumentParser | Any, old: str, new: str) -> None:
    """Keep option ``old`` working as ``new`` (added before) for one release, with a warning.

    Raises
    ------
    ValueError
        If ``parser`` has no option ``new``.
    """
    target = next((a for a in parser._actions if new in a.option_strings), None)
    if target is None:
        raise ValueError(f"no option {new!r} to alias {old!r} to")
    parser.add_argument(old, action=_DeprecatedAlias, target=target, new=new)


class _DeprecatedFlag(argparse.Action):
    """An old flag that no longer does anything: warns only."""

    def __init__(self, option_strings: list[str], dest: str, *, instead: str,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
        self.instead = instead

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:  # fmt: skip
        warn_deprecated(option_string or self.option_strings[0], self.instead)


def deprecated_flag(parser: argparse.ArgumentParser | Any, old: str, instead: str) -> None:
    """Accept the flag ``old``, now the default, with a warning naming ``instead``."""
    parser.add_argument(old, action=_DeprecatedFlag, instead=instead)


def deprecated_command(
    subparsers: Any, old: str, new: str, build: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Keep subcommand ``old`` (e.g. top-level ``join``) working as ``new``, with a warning.

    ``build`` adds the options and ``func`` to a parser, as for the new subcommand.
    """
    parser = subparsers.add_parser(old, help=f"deprecated: use '{new}'")
    build(parser)
    parser.set_defaults(
        func=deprecated_func(f"galaxy-xai {old}", f"galaxy-xai {new}", parser.get_default("func"))
    )


def deprecated_func(
    old: str, new: str, func: Callable[[argparse.Namespace], Any]
) -> Callable[[argparse.Namespace], Any]:
    """``func`` as the handler of the old spelling ``old``: warns naming ``new``, then runs."""

    def run(args: argparse.Namespace) -> Any:
        warn_deprecated(old, new)
        return func(args)

    return run


# --- subcommand groups ---------------------------------------------------------------


def add_subcommands(parser: argparse.ArgumentParser | Any, dest: str) -> Any:
    """Subcommands of ``parser`` (``data``, ``models``...); without one: help, exit 2.

    The one way a command group handles a missing subcommand: its help on stdout and
    exit status 2 (a usage error), as ``galaxy-xai`` with an unknown option.
    """
    sub = parser.add_subparsers(dest=dest, metavar="SUBCOMMAND")

    def missing(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=missing)
    return sub
