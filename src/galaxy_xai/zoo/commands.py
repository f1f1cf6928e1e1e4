"""``galaxy-xai models ...``: shipped and installed models, their cards and recipes.

``list``, ``show NAME``, ``train NAME --out DIR [--resume]``, ``install PATH_OR_URL
--sha256 HEX``, ``export NAME --out X.zip``, and ``convert`` for an earlier version's
``model.pt``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from galaxy_xai.cli_types import (
    COUNT,
    add_config_option,
    add_subcommands,
    config_from_args,
    defaults_from,
    output_path,
)

__all__ = ["add_parser"]


def add_parser(subparsers: Any) -> None:
    """Add ``models`` and its subcommands."""
    parser = subparsers.add_parser(
        "models",
        help="shipped models (zoo:NAME): list, show, train, install, export; convert model.pt",
        description="Trained models that ship with galaxy-xai or that you installed. Use one "
        "wherever a run folder is accepted as zoo:NAME (e.g. predict --model "
        "zoo:gz1-morphology, train --transfer-from zoo:gz1-morphology).",
    )
    sub = add_subcommands(parser, "models_command")

    p = sub.add_parser("list", help="name, task, input and test figures of every model")
    p.add_argument("--json", action="store_true", help="print the cards' summaries as JSON")
    p.set_defaults(func=_list)

    p = sub.add_parser("show", help="a model's card")
    p.add_argument("name", metavar="NAME", help="model name (with or without zoo:)")
    p.add_argument("--json", action="store_true", help="the card as JSON (default Markdown)")
    p.set_defaults(func=_show)

    p = sub.add_parser(
        "train",
        help="rerun the recipe that made a shipped model",
        description="Rerun the recipe (in galaxy_xai.zoo) that made shipped model NAME: the "
        "same data, seeds and settings. OUT/model/ receives the model and its card; on the "
        "same machine and thread count its test figures reproduce the shipped card's.",
    )
    p.add_argument("name", metavar="NAME", help="the shipped model's name")
    p.add_argument("--out", required=True, type=output_path, help="recipe folder")
    p.add_argument("--resume", action="store_true", help="continue an interrupted recipe")
    add_config_option(p, "RecipeRunConfig (galaxy_xai.zoo.recipes)")
    p.add_argument("--data-root", help="real-data folder (none: $GALAXY_XAI_DATA)")
    p.add_argument(
        "--threads",
        type=COUNT,
        help="torch threads (as the shipped models were trained: the same thread count "
        "reproduces the same weights)",
    )
    defaults_from(p, "galaxy_xai.zoo.recipe_base:RecipeRunConfig")
    p.set_defaults(func=_train)

    p = sub.add_parser(
        "install",
        help="add a model archive (file or http(s) URL) to your model folder",
        description="Check and install a model archive (a zip made by 'models export') into "
        "GALAXY_XAI_MODELS (default ~/.cache/galaxy-xai/models). The archive's sha256 must "
        "match --sha256; the model must load (weights only) before it is installed.",
    )
    p.add_argument("source", metavar="PATH_OR_URL", help="model archive (.zip) or http(s) URL")
    p.add_argument("--sha256", required=True, help="the archive's sha256 (64 hex digits)")
    p.add_argument("--force", action="store_true", help="replace an installed model")
    p.set_defaults(func=_install)

    p = sub.add_parser("export", help="write a model as an installable archive (.zip)")
    p.add_argument("name", metavar="NAME", help="model name")
    p.add_argument("--out", required=True, type=output_path, help="archive to write (.zip)")
    p.set_defaults(func=_export)

    p = sub.add_parser(
        "convert",
        help="convert an earlier version's model.pt into model.safetensors + model.json",
        description="Files that a weights-only load accepts are converted without "
        "unpickling anything. A file that needs full unpickling (which runs any code it "
        "holds) is converted only with --trust: use it only on files you made yourself.",
    )
    p.add_argument("path", help="model.pt, or the run folder holding it")
    p.add_argument(
        "--out", type=output_path, help="folder for the converted files (default: beside PATH)"
    )
    p.add_argument(
        "--trust",
        action="store_true",
        help="allow the unsafe (code-running) load for a file the safe reader refuses",
    )
    p.set_defaults(func=_convert)


def headline(card: dict[str, Any]) -> str:
    """The card's main test figures in a few words (``models list``)."""
    metrics = card.get("test_metrics") or {}
    keys = ("accuracy", "macro_f1", "sim_test_auc_finetuned", "gzb_test_auc_finetuned",
            "misclassified_transfer_25", "pearson_r", "rmse_px")  # fmt: skip
    parts = []
    for key in keys:
        value = metrics.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            ci = metrics.get(f"{key}_ci95")
            span = ""
            if (
                isinstance(ci, list)
                and len(ci) == 2
                and all(isinstance(v, int | float) for v in ci)
            ):
                span = f" [{ci[0]:.2f}, {ci[1]:.2f}]"
            parts.append(f"{key} {value:.3f}{span}")
    return "; ".join(parts) or "-"


def _list(args: argparse.Namespace) -> int:
    from galaxy_xai.errors import GalaxyXAIError
    from galaxy_xai.models.shipped import model_names, read_card

    rows = []
    for name, folder in model_names().items():
        try:
            card = read_card(folder, name=name)
        except GalaxyXAIError as exc:  # one bad installed model does not hide the others
            print(f"galaxy-xai models list: skipped '{name}': {exc}", file=sys.stderr)
            continue
        rows.append({"name": name, "version": card["version"], "task": card["task"],
                     "input": "x".join(str(v) for v in card.get("input_shape") or []),
                     "test": headline(card), "folder": str(folder)})  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no models (install one with 'galaxy-xai models install')")
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(
            f"{r['name']:<{width}}  {r['version']:<4} {r['task']:<14} {r['input']:<9} {r['test']}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    from galaxy_xai.zoo import card
    from galaxy_xai.zoo.package import render_card

    data = card(args.name)
    print(json.dumps(data, indent=2) if args.json else render_card(data), end="")
    if args.json:
        print()
    return 0


def _train(args: argparse.Namespace) -> int:
    from galaxy_xai.errors import ParameterError
    from galaxy_xai.zoo.package import pack_model
    from galaxy_xai.zoo.recipes import RECIPES, RecipeRunConfig, data_root_from_env

    settings = config_from_args(
        RecipeRunConfig, args, {"data_root": "data_root", "threads": "threads"}
    )
    bare = args.name.removeprefix("zoo:")
    if bare not in RECIPES:
        raise ParameterError("NAME", args.name, f"has no recipe (recipes: {', '.join(RECIPES)})")
    recipe = RECIPES[bare]
    root = data_root_from_env(settings.data_root)
    import torch

    torch.set_num_threads(settings.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    outcome = recipe.run(out, root, args.resume)
    folder = pack_model(recipe, outcome, out, train_seconds=time.perf_counter() - t0)
    print(f"{bare}: model and card in {folder}")
    print(json.dumps(outcome.test_metrics, indent=2))
    return 0


def _install(args: argparse.Namespace) -> int:
    from galaxy_xai.zoo.install import install_model

    folder = install_model(args.source, args.sha256, force=args.force)
    print(f"installed {folder.name} -> {folder} (use it as zoo:{folder.name})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from galaxy_xai.zoo.install import export_model

    out, digest = export_model(args.name, args.out)
    print(f"{out}  sha256 {digest}")
    print(f"install with: galaxy-xai models install {out} --sha256 {digest}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from galaxy_xai.models.files import convert_legacy_model

    out = convert_legacy_model(args.path, args.out, trust=args.trust)
    print(f"converted {args.path} -> {out} (+ {out.with_suffix('.safetensors').name})")
    return 0
