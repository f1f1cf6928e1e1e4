"""The ``galaxy-xai`` command line: parses arguments and calls public functions.

Each capability registers its own subcommands from a small ``commands`` module
(``galaxy_xai.<capability>.commands``) with two functions::

    def add_parser(subparsers) -> None      # adds its subcommand(s)
    # and each parser sets ``func=<handler>`` via ``set_defaults``

Handlers take the parsed ``argparse.Namespace`` and return an exit status (0 or None
for success). Heavy imports (torch, galsim) happen inside handlers, so ``--help`` is
fast. The package's base error is caught here only: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from galaxy_xai import __version__
from galaxy_xai.cli_types import ConfigHelpFormatter
from galaxy_xai.errors import GalaxyXAIError, ParameterError

__all__ = ["OneLineParser", "build_parser", "main"]

# Capabilities whose ``commands`` module adds subcommands, in --help order.
COMMAND_MODULES = (
    "galaxy_xai.demo_commands",
    "galaxy_xai.data.commands",
    "galaxy_xai.simulate.commands",
    "galaxy_xai.train.commands",
    "galaxy_xai.zoo.commands",
    "galaxy_xai.explain.commands",
    "galaxy_xai.bars.commands",
    "galaxy_xai.workflows.commands",  # after bars: adds the deprecated bars train-*
    "galaxy_xai.features.commands",
    "galaxy_xai.audit.commands",
    "galaxy_xai.distill.commands",
    "galaxy_xai.report.commands",
)


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr, exit status 2.

    argparse prints the usage before the error; the package's contract for bad input
    is one line naming the parameter and its value (``--help`` still shows the usage).
    Subparsers are of the same class (``add_subparsers`` uses ``type(self)``). The help
    shows each option's default taken from its config dataclass
    (:class:`~galaxy_xai.cli_types.ConfigHelpFormatter`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", ConfigHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message>`` as one line and exit with status 2."""
        text = " ".join(line.strip() for line in message.splitlines() if line.strip())
        self.exit(2, f"{self.prog}: error: {text} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every capability's subcommands."""
    parser = OneLineParser(
        prog="galaxy-xai",
        description="Explainable deep learning of galaxy morphology: simulate, train, "
        "explain, measure bars, distill, report.",
    )
    parser.add_argument("--version", action="version", version=f"galaxy-xai {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):  # capability not built yet
                continue
            raise
        module.add_parser(subparsers)
    return parser


#: Delay before a swallowed interrupt is sent again (s): enough to leave the finalizer.
_RESEND_INTERRUPT_S = 0.01


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _reraise_swallowed_interrupt(
    previous: Callable[[Any], object],
) -> Callable[[Any], object]:
    """An ``sys.unraisablehook`` that raises a swallowed interrupt again.

    Python runs a signal handler at whatever bytecode the main thread is at; when that
    is a finalizer (a weakref callback, ``__del__``), the KeyboardInterrupt it raises is
    "ignored" there and the command would run on as if never stopped (seen with SIGTERM
    during ``simulate --workers 2``). This hook sends SIGTERM again, so the interrupt is
    raised at the next bytecode outside the finalizer; other unraisable errors go to
    ``previous``.
    """

    main_thread = threading.main_thread().ident

    def hook(unraisable: Any) -> object:
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            # Not from here: a signal raised now would be handled inside this hook and
            # ignored again. A moment later, to the main thread (so that a lock wait
            # there is interrupted too); if it lands in a finalizer again, so does this.
            resend = threading.Timer(
                _RESEND_INTERRUPT_S, signal.pthread_kill, (main_thread, signal.SIGTERM)
            )
            resend.daemon = True
            resend.start()
            return None
        return previous(unraisable)

    return hook


def _sigterm_as_interrupt(func: Callable[[argparse.Namespace], Any]) -> Callable[..., Any]:
    """Run ``func`` with SIGTERM raising KeyboardInterrupt, so that ``kill`` (or a batch
    scheduler's stop) ends a command like Ctrl-C: partial outputs kept, exit 130.

    An interrupt that lands in a finalizer, where Python would ignore it, is raised again
    (:func:`_reraise_swallowed_interrupt`)."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return func(args)  # signal handlers can only be set from the main thread
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        previous_hook = sys.unraisablehook
        sys.unraisablehook = _reraise_swallowed_interrupt(previous_hook)
        try:
            return func(args)
        finally:
            sys.unraisablehook = previous_hook
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)

    return run


def _command_parser(
    parser: argparse.ArgumentParser, *, func_of: Callable[..., Any]
) -> argparse.ArgumentParser | None:
    """The (sub)parser whose ``set_defaults(func=...)`` is ``func_of``, or None."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if sub.get_default("func") is func_of:
                    return sub
                found = _command_parser(sub, func_of=func_of)
                if found is not None:
                    return found
    return None


def _as_option_error(exc: GalaxyXAIError, command: argparse.ArgumentParser | None) -> str:
    """The error's message, with a :class:`ParameterError`'s Python name as its CLI flag.

    Library code names the Python parameter or config field (``lr_lr``); on the command
    line the user typed the option (``--lr-lr``). The option is the one whose ``dest`` is
    that name (or that name without a ``_path`` suffix: ``data_path`` -> ``--data``);
    names that match no option (a config-file key, a positional) are printed unchanged.
    """
    if not isinstance(exc, ParameterError) or command is None:
        return str(exc)
    candidates = (exc.name, exc.name.removesuffix("_path"))
    for action in command._actions:
        if action.option_strings and action.dest in candidates:
            flag = max(action.option_strings, key=len)
            return f"{flag}={exc.value!r}: {exc.reason}"
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``galaxy-xai`` script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help and --version exit 0 here; a bad option exits 2
        if not exc.code:
            raise
        return 2
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.verbose == 0:
        # Lightning's banners and tips ("GPU available", "Tip: ...litlogger") and its own
        # deprecation warnings are noise to a user of this CLI; -v brings them back.
        logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
        logging.getLogger("lightning.fabric.utilities.rank_zero").setLevel(logging.WARNING)
        warnings.filterwarnings("ignore", message=r".*LeafSpec.*")
        warnings.filterwarnings("ignore", message=r".*smaller than the logging interval.*")
    if args.no_progress:
        from galaxy_xai.progress import set_progress_enabled

        set_progress_enabled(False)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0 if args.command is None else 2
    func = _sigterm_as_interrupt(func)
    try:
        status = func(args)
    except GalaxyXAIError as exc:
        # One line, whatever the message holds (YAML parse errors span several).
        text = _as_option_error(exc, _command_parser(parser, func_of=args.func))
        message = " | ".join(line.strip() for line in text.splitlines() if line.strip())
        print(f"galaxy-xai {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"galaxy-xai {args.command}: interrupted; finished outputs are kept, rerun to resume",
            file=sys.stderr,
        )
        return 130
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
