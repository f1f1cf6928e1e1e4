"""``galaxy-xai explain``: attribution maps of a dataset, or ``--check`` their trust.

The method names (``--method``/``--methods`` choices), the default methods of
``--check``, and the flags of the methods' own options (``--n-steps``, ``--layer``,
``--window-px``, ``--stride-px``) come from the registry of
:mod:`galaxy_xai.explain.methods`. The other settings are the fields of
:class:`~galaxy_xai.explain.dataset.ExplainConfig` (``--config FILE``, overridden by
the options given), whose defaults the help shows. ``--resume`` continues an
interrupted run; without it a partial maps file is discarded (``--no-resume``, the old
opt-out, is accepted with a warning).
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from galaxy_xai.cli_types import (
    COUNT,
    FRACTION,
    SEED,
    add_config_option,
    config_from_args,
    defaults_from,
    deprecated_flag,
    given,
    output_path,
)

__all__ = ["add_parser", "format_check_table"]

_CONFIG = "galaxy_xai.explain.dataset:ExplainConfig"
#: Option dest -> field of :class:`~galaxy_xai.explain.dataset.ExplainConfig`
#: (``checks.*``: its :class:`~galaxy_xai.explain.dataset.CheckConfig` section).
_FIELDS = {
    "method": "method",
    "target": "target",
    "noise_level": "noise_level",
    "n_samples": "n_samples",
    "batch_size": "batch_size",
    "seed": "seed",
    "abs": "abs",
    "keep_channels": "keep_channels",
    "mc_dropout": "mc_dropout",
    "limit": "limit",
    "methods": "checks.methods",
    "n": "checks.n",
    "sanity_mode": "checks.sanity_mode",
}
#: The options whose help shows the config default (the others say what None means).
_TIED = ("method", "noise_level", "n_samples", "batch_size", "seed", "limit", "n", "sanity_mode")
#: How an option field's ``metadata["cli"]`` parses its flag's value.
_CLI_TYPES: dict[str, Any] = {"count": COUNT, "str": str}


def _method_name(value: str) -> str:
    """A registered method name; else the registry's error (``method='x': unknown; ...``).

    Raises
    ------
    argparse.ArgumentTypeError
        If no method of that name is registered.
    """
    from galaxy_xai.errors import ParameterError
    from galaxy_xai.explain.methods import check_method

    try:
        return check_method(value)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _option_sources() -> dict[str, str]:
    """Method option name -> ``"module:OptionsClass"`` that declares it, where that class
    can be imported by name (for the help to look its default up)."""
    from galaxy_xai.explain.methods import cli_option_owners

    sources: dict[str, str] = {}
    for name, (cls, _) in cli_option_owners().items():
        try:  # a class defined in a function cannot be named for the help to look up
            importable = getattr(importlib.import_module(cls.__module__), cls.__qualname__, None)
        except ImportError:
            importable = None
        if importable is cls:
            sources[name] = f"{cls.__module__}:{cls.__qualname__}"
    return sources


def add_parser(subparsers: Any) -> None:
    """Add the ``explain`` subcommand."""
    from galaxy_xai.explain.methods import METHODS, cli_option_fields, default_check_methods

    p = subparsers.add_parser(
        "explain",
        help="attribution maps (SmoothGrad, IG, Grad-CAM, ...) of a dataset, or --check them",
        description="Stream attribution maps of a dataset file to HDF5 (same ids and order "
        "as the dataset), averaged over one or more models; or, with --check, run the "
        "model-parameter randomisation sanity check and faithfulness metrics per method. "
        "Options override the --config file.",
    )
    p.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="RUN",
        help="trained run folder or model.json (repeat for an ensemble; maps are averaged)",
    )
    p.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="use the last checkpoint of a run that has not finished (half-trained weights)",
    )
    p.add_argument("--data", required=True, metavar="X.h5", help="dataset file")
    p.add_argument(
        "--out",
        required=True,
        type=output_path,
        help="maps file (.h5), or the JSON report with --check",
    )
    add_config_option(p, "ExplainConfig (galaxy_xai.explain.dataset)")
    p.add_argument(
        "--method",
        type=_method_name,
        choices=tuple(METHODS),
        metavar="METHOD",
        help=f"one of {', '.join(METHODS)}",
    )
    p.add_argument(
        "--target", help="output to explain: a name (e.g. bar) or an index; default the only output"
    )
    p.add_argument("--n-samples", type=COUNT, help="noisy copies per image (SmoothGrad/VarGrad)")
    p.add_argument(
        "--noise-level",
        type=FRACTION,
        help="noise sigma as a fraction of each image's range, 0..1",
    )
    p.add_argument("--batch-size", type=COUNT, help="most model inputs per pass (memory)")
    p.add_argument("--seed", type=SEED, help="seed of the noise")
    absg = p.add_mutually_exclusive_group()
    absg.add_argument(
        "--abs",
        dest="abs",
        action="store_const",
        const=True,
        default=None,
        help="absolute attributions (default per method)",
    )
    absg.add_argument(
        "--signed", dest="abs", action="store_const", const=False, help="signed attributions"
    )
    p.add_argument(
        "--keep-channels",
        action="store_true",
        default=None,
        help="store (C, H, W) maps, not their sum",
    )
    p.add_argument(
        "--mc-dropout",
        action="store_true",
        default=None,
        help="Monte Carlo dropout (one dropout mask per image, from --seed)",
    )
    p.add_argument(
        "--overlays",
        metavar="DIR",
        type=output_path,
        default=None,
        help="also write PNG overlays here",
    )
    p.add_argument(
        "--shard", default=None, metavar="i/N", help="only the i-th of N parts (0-based)"
    )
    p.add_argument("--limit", type=COUNT, help="only the first N images")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the partial maps file of an interrupted run (else start afresh)",
    )
    deprecated_flag(p, "--no-resume", "no flag: explain starts afresh unless given --resume")
    options = cli_option_fields()  # each method's own options: --n-steps, --layer, ...
    for option in options:
        p.add_argument(
            "--" + option.name.replace("_", "-"),
            type=_CLI_TYPES[option.metadata["cli"]],
            help=option.metadata.get("help"),
        )
    # the CLI passes every method option flag, given or not (their defaults otherwise),
    # so that the maps files it writes record them, as they always have
    p.set_defaults(method_option_defaults={option.name: option.default for option in options})
    chk = p.add_argument_group("trust checks (--check)")
    chk.add_argument(
        "--check",
        action="store_true",
        help="sanity check + faithfulness metrics per method; writes JSON to --out",
    )
    chk.add_argument(
        "--methods",
        nargs="+",
        type=_method_name,
        choices=tuple(METHODS),
        metavar="METHOD",
        help=f"methods to check (default {' '.join(default_check_methods())})",
    )
    chk.add_argument("--n", type=COUNT, help="images checked (seeded random choice)")
    chk.add_argument(
        "--sanity-mode",
        choices=("cascading", "independent", "full"),
        help="randomise layers cascading from the top (Adebayo), one at a time, or all at once",
    )
    defaults_from(p, _CONFIG, {dest: _FIELDS[dest] for dest in _TIED})
    sources = _option_sources()
    for option in options:
        if option.default is not None and option.name in sources:
            defaults_from(p, sources[option.name], {option.name: option.name})
    p.set_defaults(func=_run)


def format_check_table(report: dict[str, Any]) -> str:
    """The ``--check`` results as a plain-text table, one row per method."""
    cols = ("spearman", "ssim", "deletion_auc", "insertion_auc", "infidelity", "sensitivity_max")
    header = f"{'method':<22}" + "".join(f"{c:>16}" for c in cols)
    lines = [header, "-" * len(header)]
    rows = dict(report["methods"])
    rows["random order"] = report.get("random", {})
    for name, values in rows.items():
        cells = []
        for c in cols:
            v = values.get(c)
            cells.append(f"{v:>16.4g}" if isinstance(v, float | int) else f"{'-':>16}")
        lines.append(f"{name:<22}" + "".join(cells))
    lines.append(
        "spearman: rank correlation of maps of the trained vs the randomised network "
        "(must be well below 1); deletion AUC lower / insertion AUC higher than the "
        "random order is better; infidelity and sensitivity_max lower is better."
    )
    return "\n".join(lines)


def _method_options(args: argparse.Namespace, config: Any) -> dict[str, Any]:
    """The methods' own options: flag given, else the file's, else the flag's default.

    The options left None (``layer``, ``window_px``...: the method decides) are not passed.
    """
    options = dict(args.method_option_defaults)
    options.update(config.method_options)
    options.update(given(args, *args.method_option_defaults))
    return {name: value for name, value in options.items() if value is not None}


def _run(args: argparse.Namespace) -> int:
    from galaxy_xai.errors import ParameterError
    from galaxy_xai.explain.dataset import ExplainConfig, explain_dataset, run_checks
    from galaxy_xai.io import write_json
    from galaxy_xai.models.trained import load_model

    config = config_from_args(ExplainConfig, args, _FIELDS)
    options = _method_options(args, config)
    models = [load_model(m, allow_unfinished=args.allow_unfinished) for m in args.model]
    if args.check:
        if len(args.model) != 1:
            raise ParameterError("--model", args.model, "--check takes exactly one model")
        checks = config.checks
        report = run_checks(
            models[0],
            args.data,
            methods=checks.methods,
            target=config.target,
            n=checks.n,
            seed=config.seed,
            sanity_mode=checks.sanity_mode,
            noise_level=config.noise_level,
            n_samples=config.n_samples,
            batch_size=config.batch_size,
            abs=config.abs,
            **options,
        )
        write_json(args.out, report)
        print(format_check_table(report))
        print(f"-> {args.out}")
        return 0
    out = explain_dataset(
        models,
        args.data,
        args.out,
        method=config.method,
        target=config.target,
        noise_level=config.noise_level,
        n_samples=config.n_samples,
        batch_size=config.batch_size,
        seed=config.seed,
        abs=config.abs,
        keep_channels=config.keep_channels,
        shard=args.shard,
        limit=config.limit,
        overlays_dir=args.overlays,
        mc_dropout=config.mc_dropout,
        resume=args.resume,
        **options,
    )
    from galaxy_xai.explain.maps_io import open_maps

    with open_maps(out) as maps:
        n = len(maps)
    print(f"wrote {n} {config.method} maps of target {config.target!r} to {out}")
    return 0
