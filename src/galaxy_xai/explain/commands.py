"""``galaxy-xai explain``: attribution maps of a dataset, or ``--check`` their trust.

The method names (``--method``/``--methods`` choices), the default methods of
``--check``, and the flags of the methods' own options (``--n-steps``, ``--layer``,
``--window-px``, ``--stride-px``) come from the registry of
:mod:`galaxy_xai.explain.methods`.
"""

from __future__ import annotations

import argparse
from typing import Any

from galaxy_xai.cli_types import COUNT, FRACTION, SEED, output_path

__all__ = ["add_parser", "format_check_table"]

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


def add_parser(subparsers: Any) -> None:
    """Add the ``explain`` subcommand."""
    from galaxy_xai.explain.methods import (
        METHODS,
        NoiseTunnelOptions,
        cli_option_fields,
        default_check_methods,
    )

    noise = NoiseTunnelOptions()
    p = subparsers.add_parser(
        "explain",
        help="attribution maps (SmoothGrad, IG, Grad-CAM, ...) of a dataset, or --check them",
        description="Stream attribution maps of a dataset file to HDF5 (same ids and order "
        "as the dataset), averaged over one or more models; or, with --check, run the "
        "model-parameter randomisation sanity check and faithfulness metrics per method.",
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
    p.add_argument(
        "--method",
        default="smoothgrad",
        type=_method_name,
        choices=tuple(METHODS),
        metavar="METHOD",
        help=f"one of {', '.join(METHODS)}",
    )
    p.add_argument(
        "--target",
        default=None,
        help="output to explain: a name (e.g. bar) or an index; default the only output",
    )
    p.add_argument(
        "--n-samples",
        type=COUNT,
        default=noise.n_samples,
        help="noisy copies per image (SmoothGrad/VarGrad)",
    )
    p.add_argument(
        "--noise-level",
        type=FRACTION,
        default=noise.noise_level,
        help=f"noise sigma as a fraction of each image's range, 0..1 (default {noise.noise_level})",
    )
    p.add_argument(
        "--batch-size", type=COUNT, default=32, help="most model inputs per pass (memory)"
    )
    p.add_argument("--seed", type=SEED, default=0, help="seed of the noise (default 0)")
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
        "--keep-channels", action="store_true", help="store (C, H, W) maps, not their sum"
    )
    p.add_argument(
        "--mc-dropout",
        action="store_true",
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
    p.add_argument("--limit", type=COUNT, default=None, help="only the first N images")
    p.add_argument("--no-resume", action="store_true", help="start afresh instead of resuming")
    for option in cli_option_fields():  # each method's own options: --n-steps, --layer, ...
        p.add_argument(
            "--" + option.name.replace("_", "-"),
            type=_CLI_TYPES[option.metadata["cli"]],
            default=option.default,
            help=option.metadata.get("help"),
        )
    p.set_defaults(method_option_names=[option.name for option in cli_option_fields()])
    chk = p.add_argument_group("trust checks (--check)")
    chk.add_argument(
        "--check",
        action="store_true",
        help="sanity check + faithfulness metrics per method; writes JSON to --out",
    )
    chk.add_argument(
        "--methods",
        nargs="+",
        default=None,
        type=_method_name,
        choices=tuple(METHODS),
        metavar="METHOD",
        help=f"methods to check (default {' '.join(default_check_methods())})",
    )
    chk.add_argument("--n", type=COUNT, default=32, help="images checked (seeded random choice)")
    chk.add_argument(
        "--sanity-mode",
        default="cascading",
        choices=("cascading", "independent", "full"),
        help="randomise layers cascading from the top (Adebayo), one at a time, or all at once",
    )
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


def _run(args: argparse.Namespace) -> int:
    from galaxy_xai.errors import ParameterError
    from galaxy_xai.explain.dataset import explain_dataset, run_checks
    from galaxy_xai.io import write_json

    options: dict[str, Any] = {  # the methods' own options given (or defaulted) on the CLI
        name: getattr(args, name)
        for name in args.method_option_names
        if getattr(args, name) is not None
    }
    from galaxy_xai.models.trained import load_model

    models = [load_model(m, allow_unfinished=args.allow_unfinished) for m in args.model]
    if args.check:
        if len(args.model) != 1:
            raise ParameterError("--model", args.model, "--check takes exactly one model")
        report = run_checks(
            models[0],
            args.data,
            methods=args.methods,
            target=args.target,
            n=args.n,
            seed=args.seed,
            sanity_mode=args.sanity_mode,
            noise_level=args.noise_level,
            n_samples=args.n_samples,
            batch_size=args.batch_size,
            abs=args.abs,
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
        method=args.method,
        target=args.target,
        noise_level=args.noise_level,
        n_samples=args.n_samples,
        batch_size=args.batch_size,
        seed=args.seed,
        abs=args.abs,
        keep_channels=args.keep_channels,
        shard=args.shard,
        limit=args.limit,
        overlays_dir=args.overlays,
        mc_dropout=args.mc_dropout,
        resume=not args.no_resume,
        **options,
    )
    from galaxy_xai.explain.maps_io import open_maps

    with open_maps(out) as maps:
        n = len(maps)
    print(f"wrote {n} {args.method} maps of target {args.target!r} to {out}")
    return 0
