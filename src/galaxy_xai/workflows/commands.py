"""``galaxy-xai workflows ...``: train the bar network and the direct bar-length regressor.

The old spellings ``galaxy-xai bars train-network`` and ``bars train-direct`` are
registered here too (``bars`` itself is measurement only and does not import this
layer): they take the same options and warn (``FutureWarning``, as every deprecated
spelling of the CLI) naming the new one.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any

from galaxy_xai.cli_types import (
    COUNT,
    FRACTION,
    SEED,
    Number,
    add_config_option,
    add_subcommands,
    config_from_args,
    defaults_from,
    deprecated_alias,
    deprecated_func,
    output_path,
)

__all__ = ["DEPRECATED_BARS_COMMANDS", "add_parser"]

#: Old ``bars`` subcommand -> its new spelling under ``workflows``.
DEPRECATED_BARS_COMMANDS = {"train-network": "bar-network", "train-direct": "bar-direct"}

_HELP = {
    "bar-network": "train the bar network on simulations, optionally fine-tune on real labels",
    "bar-direct": "the control: a CNN regressing bar length directly (same splits)",
}


def add_parser(subparsers: Any) -> None:
    """Add ``workflows`` and its subcommands, and the deprecated ``bars train-*`` spellings.

    Registered after ``galaxy_xai.bars.commands`` (see ``cli.COMMAND_MODULES``).
    """
    flows = subparsers.add_parser(
        "workflows",
        help="multi-step recipes: train the bar network and the direct bar-length control",
        description="Workflows above bars, explain, train and simulate: the bar network "
        "(simulate, train, fine-tune) and the direct regressor the bar lengths are judged "
        "against.",
    )
    sub = add_subcommands(flows, "workflows_command")
    builders = {"bar-network": _bar_network_options, "bar-direct": _bar_direct_options}
    for name, build in builders.items():
        build(sub.add_parser(name, help=_HELP[name]), _HANDLERS[name])

    bars_sub = _subcommands(subparsers.choices.get("bars"))
    if bars_sub is None:  # bars not registered (capability not built)
        return
    for old, new in DEPRECATED_BARS_COMMANDS.items():
        parser = bars_sub.add_parser(old, help=f"deprecated: use 'galaxy-xai workflows {new}'")
        builders[new](
            parser,
            deprecated_func(
                f"galaxy-xai bars {old}", f"galaxy-xai workflows {new}", _HANDLERS[new]
            ),
        )


def _subcommands(parser: argparse.ArgumentParser | None) -> Any:
    """The subcommand table of ``parser`` (argparse keeps it among its actions)."""
    for action in [] if parser is None else parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


_NETWORK = "galaxy_xai.workflows.bar_network:BarNetworkConfig"
_DIRECT = "galaxy_xai.workflows.bar_direct:BarDirectConfig"


def _arch_option(p: argparse.ArgumentParser) -> None:
    """``--arch`` (the CLI's one spelling of an architecture) and the old ``--architecture``."""
    p.add_argument("--arch", dest="architecture", help="architecture name (none: compact CNN)")
    deprecated_alias(p, "--architecture", "--arch")


def _run_options(p: argparse.ArgumentParser, config: str) -> None:
    add_config_option(p, f"{config} (galaxy_xai.workflows)")
    p.add_argument(
        "--resume", action="store_true", help="continue an interrupted run in the same folder"
    )


def _bar_network_options(p: argparse.ArgumentParser, func: Callable[..., int]) -> None:
    p.add_argument("--out", required=True, type=output_path, help="output folder (runs inside)")
    _run_options(p, "BarNetworkConfig")
    p.add_argument("--n-sim", type=Number(int, 20), help="simulated galaxies, >= 20")
    p.add_argument("--size", type=Number(int, 16), help="image size, pixels, >= 16")
    p.add_argument("--epochs", type=COUNT, help="epochs on the simulations")
    _arch_option(p)
    p.add_argument("--finetune-data", help="real dataset .h5 with a vote-fraction column")
    p.add_argument("--finetune-col", help="vote fraction column")
    p.add_argument("--finetune-epochs", type=COUNT, help="epochs of fine-tuning")
    p.add_argument(
        "--centre-mask",
        type=FRACTION,
        help="probability of hiding a random central disc of a simulated training image, "
        "so the maps follow the whole bar (0 = off)",
    )
    p.add_argument("--seed", type=SEED, help="seed of the simulations, splits and training")
    defaults_from(p, _NETWORK)
    p.set_defaults(func=func)


def _bar_direct_options(p: argparse.ArgumentParser, func: Callable[..., int]) -> None:
    p.add_argument("--data", required=True, help="dataset .h5 with the length column")
    _run_options(p, "BarDirectConfig")
    p.add_argument("--target-col", help="true bar length column")
    p.add_argument("--split-file", help="split.json to reuse (same splits as the bar network)")
    p.add_argument("--epochs", type=COUNT, help="training epochs")
    _arch_option(p)
    p.add_argument("--seed", type=SEED, help="seed of the split and training")
    p.add_argument("--out", required=True, type=output_path, help="run folder")
    p.add_argument("--predict", help="also write predictions for this dataset to --pred-out")
    p.add_argument(
        "--pred-out", type=output_path, help="CSV of direct predictions (id, bar_length_px)"
    )
    defaults_from(p, _DIRECT)
    p.set_defaults(func=func)


def _cmd_bar_network(args: argparse.Namespace) -> int:
    from galaxy_xai.workflows.bar_network import BarNetworkConfig, train_bar_network

    config = config_from_args(BarNetworkConfig, args)
    result = train_bar_network(args.out, resume=args.resume, **dataclasses.asdict(config))
    print(f"bar network: {result.run_dir} (target output {result.target!r})")
    return 0


def _cmd_bar_direct(args: argparse.Namespace) -> int:
    from galaxy_xai.workflows.bar_direct import (
        BarDirectConfig,
        predict_direct,
        train_direct_regressor,
    )

    if args.predict and not args.pred_out:
        from galaxy_xai.errors import ParameterError

        raise ParameterError("--pred-out", None, "needed with --predict")
    config = config_from_args(BarDirectConfig, args)
    run = train_direct_regressor(
        args.data, args.out, resume=args.resume, **dataclasses.asdict(config)
    )
    print(f"direct regressor: {run}")
    if args.predict:
        table = predict_direct(run, args.predict, out=args.pred_out)
        print(f"{len(table)} predictions -> {args.pred_out}")
    return 0


_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "bar-network": _cmd_bar_network,
    "bar-direct": _cmd_bar_direct,
}
