"""``galaxy-xai audit``: likely label errors of a labelled dataset (cleanlab)."""

from __future__ import annotations

import argparse
from typing import Any

from galaxy_xai.cli_types import COUNT, SEED, Number, defaults_from, given, output_path
from galaxy_xai.names import ARCHITECTURES

__all__ = ["add_parser", "parse_class_map"]


def parse_class_map(text: str) -> dict[str, str | None]:
    """``'0=elliptical,1=spiral,2=spiral,4='`` -> mapping (an empty name drops a value).

    Raises
    ------
    argparse.ArgumentTypeError
        An item without ``=`` or with an empty value.
    """
    out: dict[str, str | None] = {}
    for item in (v.strip() for v in text.split(",")):
        if not item:
            continue
        key, sep, name = item.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(
                f"{item!r}: use VALUE=CLASS pairs, e.g. '0=elliptical,1=spiral,4=' (empty drops)"
            )
        out[key.strip()] = name.strip() or None
    if not out:
        raise argparse.ArgumentTypeError("give at least one VALUE=CLASS pair")
    return out


def add_parser(subparsers: Any) -> None:
    """Add ``audit``."""
    p = subparsers.add_parser(
        "audit",
        help="likely label errors of a labelled dataset (confident learning, cleanlab)",
        description="Out-of-sample class probabilities (k-fold training, or --model that "
        "never saw these galaxies), likely label errors ranked by cleanlab, a montage of the "
        "suspects with saliency maps, and the bias check.",
    )
    p.add_argument("--data", required=True, help="dataset .h5 with a label column")
    p.add_argument("--label-col", help="label column")
    p.add_argument(
        "--class-map", type=parse_class_map, default=None,
        help="label value -> class, e.g. '0=elliptical,1=spiral,2=spiral,3=edge-on,4=,5=merger' "
        "(empty drops the value)",
    )  # fmt: skip
    p.add_argument("--model", help="trained classifier (run folder, model file, zoo:NAME)")
    p.add_argument("--folds", type=Number(int, 2), help="k-fold training folds (>= 2)")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="train config file for the folds (its data section ignored; default: "
        "galaxy_xai.audit.folds.AUDIT_TRAIN_DEFAULTS); --arch and --epochs override it",
    )
    p.add_argument(
        "--arch",
        help=f"architecture of the fold networks: {', '.join(ARCHITECTURES)} (default: the "
        "train settings')",
    )
    p.add_argument("--epochs", type=COUNT, help="epochs per fold (default: the train settings')")
    p.add_argument("--seed", type=SEED, help="fold seed")
    p.add_argument("--no-saliency", action="store_true", help="montage without saliency maps")
    p.add_argument("--resume", action="store_true", help="keep finished folds")
    p.add_argument(
        "--report-dir", help="also add the audit to this run folder's report (e.g. a demo's)"
    )
    p.add_argument("--out", required=True, type=output_path, help="audit folder")
    defaults_from(p, "galaxy_xai.audit.run:audit_dataset", {"label_col": "label_col", "folds": "folds", "seed": "seed"})  # fmt: skip
    p.set_defaults(func=_cmd_audit)


def _train_settings(args: argparse.Namespace) -> dict[str, Any]:
    import copy

    from galaxy_xai.audit.folds import AUDIT_TRAIN_DEFAULTS
    from galaxy_xai.errors import DataFormatError

    settings = copy.deepcopy(AUDIT_TRAIN_DEFAULTS)
    if args.config:
        from galaxy_xai.config import read_config_file

        loaded = read_config_file(args.config)
        if "config" in loaded and "galaxy_xai_version" in loaded:  # a run's config.yaml
            loaded = loaded["config"]
        if not isinstance(loaded, dict):
            raise DataFormatError(f"config '{args.config}' is not a mapping of settings")
        loaded.pop("data", None)
        settings = loaded
    if args.arch:
        settings["model"] = {"name": args.arch, "kwargs": {}}
    if args.epochs:
        settings.setdefault("trainer", {})["max_epochs"] = args.epochs
    return settings


def _cmd_audit(args: argparse.Namespace) -> int:
    from galaxy_xai.audit import audit_dataset
    from galaxy_xai.errors import ParameterError

    if args.model and (args.config or args.arch or args.epochs):
        raise ParameterError("--model", args.model, "is not trained: drop --config/--arch/--epochs")
    result = audit_dataset(
        args.data, args.out, model=args.model, class_map=args.class_map,
        train_config=None if args.model else _train_settings(args), resume=args.resume,
        saliency=not args.no_saliency, report_dir=args.report_dir,
        **given(args, "folds", "label_col", "seed"),
    )  # fmt: skip
    s = result.summary
    print(
        f"{s['n_flagged']} of {s['n']} galaxies flagged ({100 * s['share_flagged']:.1f}%); "
        f"out-of-sample accuracy {s['accuracy_out_of_sample']:.3f} -> {args.out}"
    )
    return 0
