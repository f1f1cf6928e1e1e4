"""``galaxy-xai train``, ``predict`` and ``evaluate``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from galaxy_xai.cli_types import (
    COUNT,
    POSITIVE,
    SEED,
    Number,
    defaults_from,
    deprecated_alias,
    devices,
    given,
    output_path,
    warn_deprecated,
)
from galaxy_xai.names import ARCHITECTURES, TASKS, TRANSFER_PRESETS

__all__ = ["ACCELERATORS", "add_parser"]

#: Lightning's accelerator names (``--accelerator``).
ACCELERATORS = ("cpu", "gpu", "cuda", "mps", "auto")
# The torch device ``predict``/``evaluate`` run on, per accelerator (None: cuda if available).
_DEVICE_OF = {"cpu": "cpu", "gpu": "cuda", "cuda": "cuda", "mps": "mps", "auto": None}

# option dest -> TrainConfig field (the defaults the help shows)
_TRAIN_FIELDS = {
    "arch": "model.name", "task": "task", "target_col": "data.target",
    "epochs": "trainer.max_epochs", "batch_size": "trainer.batch_size", "lr": "optim.lr",
    "seed": "seed", "devices": "trainer.devices", "strategy": "trainer.strategy",
    "num_nodes": "trainer.num_nodes", "accelerator": "trainer.accelerator",
    "precision": "trainer.precision",
}  # fmt: skip


def add_parser(subparsers: Any) -> None:
    """Add the training, prediction and evaluation subcommands."""
    p = subparsers.add_parser(
        "train",
        help="train a network (Lightning) on a dataset file",
        description="Train a network on a dataset written by 'data import' or 'simulate'. "
        "Writes RUN/config.yaml, split.json, checkpoints/last.ckpt, model.safetensors + model.json, metrics.csv, "
        "metrics.json. Options override the --config file.",
    )
    p.add_argument("--data", help="dataset file (.h5)")
    p.add_argument("--out", required=True, type=output_path, help="run folder")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="YAML/TOML training config (TrainConfig, galaxy_xai.train.config); the options "
        "given here override it",
    )
    p.add_argument("--arch", help=f"architecture: {', '.join(ARCHITECTURES)}")
    deprecated_alias(p, "--model", "--arch")
    p.add_argument("--task", choices=TASKS, help="what the network learns (its head and loss)")
    p.add_argument(
        "--target-col", help="catalogue column, or comma-separated columns (vote fractions)"
    )
    deprecated_alias(p, "--target", "--target-col")
    p.add_argument("--epochs", type=COUNT, help="maximum epochs")
    p.add_argument("--batch-size", type=COUNT, help="images per training step")
    p.add_argument("--lr", type=POSITIVE, help="learning rate (> 0)")
    p.add_argument("--seed", type=SEED, help="seed of the weights, augmentation and batch order")
    p.add_argument("--resume", action="store_true", help="continue from RUN/checkpoints/last.ckpt")
    p.add_argument("--devices", type=devices, help="devices per node (int or 'auto')")
    p.add_argument("--strategy", help="Lightning strategy, e.g. ddp")
    p.add_argument("--num-nodes", type=COUNT, help="nodes (Lightning num_nodes)")
    p.add_argument("--accelerator", choices=ACCELERATORS, help="Lightning accelerator")
    p.add_argument("--precision", help="e.g. 32-true, 16-mixed, bf16-mixed")
    p.add_argument(
        "--transfer-from", help="pre-trained model (run folder, model.json, .ckpt or zoo:NAME)"
    )
    p.add_argument(
        "--transfer-preset",
        choices=TRANSFER_PRESETS,
        help="layers loaded/re-initialised/frozen (Ghosh et al. 2020)",
    )
    defaults_from(p, "galaxy_xai.train.config:TrainConfig", _TRAIN_FIELDS)
    p.set_defaults(func=_train)

    p = subparsers.add_parser(
        "predict",
        help="predict a catalogue with a trained model (CSV/Parquet, MC dropout)",
        description="One row per galaxy: id, class probabilities or vote fractions; with "
        "--mc-samples K the MC-dropout mean, std and predictive entropy.",
    )
    p.add_argument(
        "--model", required=True, help="trained model: run folder, model file or zoo:NAME"
    )
    p.add_argument("--data", required=True, help="dataset file (.h5)")
    p.add_argument("--out", required=True, type=output_path, help="output .csv or .parquet")
    p.add_argument("--mc-samples", type=Number(int, 0), help="MC dropout passes (0 = off)")
    p.add_argument("--shard", help="i/N: predict only the i-th of N parts (array jobs)")
    p.add_argument("--batch-size", type=COUNT, help="most images per forward pass (memory)")
    _accelerator_options(p)
    p.add_argument("--seed", type=SEED, help="seed of the dropout masks")
    p.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="use the last checkpoint of a run that has not finished (half-trained weights)",
    )
    defaults_from(p, "galaxy_xai.train.predict:predict", {"mc_samples": "mc_samples", "batch_size": "batch_size", "seed": "seed"})  # fmt: skip
    p.set_defaults(func=_predict)

    p = subparsers.add_parser(
        "evaluate",
        help="metrics of a trained model on a split (accuracy, macro-F1, ECE)",
    )
    p.add_argument(
        "--model", required=True, help="trained model: run folder, model file or zoo:NAME"
    )
    p.add_argument("--data", required=True, help="labelled dataset file (.h5)")
    p.add_argument("--split", choices=["train", "val", "test", "all"], help="split evaluated")
    p.add_argument("--out", type=output_path, help="write the metrics as JSON here")
    p.add_argument("--batch-size", type=COUNT, help="most images per forward pass (memory)")
    p.add_argument("--bins", type=COUNT, help="confidence bins of the ECE")
    _accelerator_options(p)
    p.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="use the last checkpoint of a run that has not finished (half-trained weights)",
    )
    defaults_from(p, "galaxy_xai.train.predict:evaluate", {"split": "split", "batch_size": "batch_size", "bins": "n_bins"})  # fmt: skip
    p.set_defaults(func=_evaluate)


def _accelerator_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--accelerator",
        choices=ACCELERATORS,
        help="where the network runs, as Lightning names it (default: cuda if available)",
    )
    # the old torch-device spelling (e.g. cuda:1), kept for one release
    p.add_argument("--device", help=argparse.SUPPRESS)


def _device(args: argparse.Namespace) -> str | None:
    """The torch device of ``--accelerator`` (or of the deprecated ``--device``)."""
    if args.device is not None:
        warn_deprecated("--device", "--accelerator")
        return str(args.device)
    return None if args.accelerator is None else _DEVICE_OF[args.accelerator]


def _architecture_of_source(config: Any, args: argparse.Namespace) -> Any:
    """With ``--transfer-from`` and no architecture chosen, the source model's architecture.

    Fine-tuning ``zoo:gz1-morphology`` should build the network it was trained as, not the
    default one: unless ``--model`` or the config file names an architecture, the
    source's ``model`` section (name and options) is used.
    """
    from galaxy_xai.models.files import read_model
    from galaxy_xai.train.config import ModelConfig, load_train_config

    if not args.transfer_from or args.arch or config.model != ModelConfig():
        return config
    source = read_model(args.transfer_from, allow_unfinished=False)
    model = load_train_config(source.info["config"]).model
    return config.with_overrides(model={"name": model.name, "kwargs": dict(model.kwargs)})


def _train(args: argparse.Namespace) -> int:
    from galaxy_xai.train.config import load_train_config
    from galaxy_xai.train.run import train

    source: Any = args.config
    saved = Path(args.out) / "config.yaml"
    if source is None and args.resume and saved.is_file():
        source = saved
    config = load_train_config(source)
    target = None
    if args.target_col:
        parts = [t.strip() for t in args.target_col.split(",") if t.strip()]
        target = parts[0] if len(parts) == 1 else tuple(parts)
    transfer: dict[str, Any] = {"checkpoint": args.transfer_from, "preset": args.transfer_preset}
    config = _architecture_of_source(config, args)
    config = config.with_overrides(
        data={"path": args.data, "target": target},
        model={"name": args.arch, "kwargs": {}}
        if args.arch and args.arch != config.model.name
        else None,
        optim={"lr": args.lr},
        trainer={
            "max_epochs": args.epochs,
            "batch_size": args.batch_size,
            "devices": args.devices,
            "strategy": args.strategy,
            "num_nodes": args.num_nodes,
            "accelerator": args.accelerator,
            "precision": args.precision,
        },
        transfer=transfer,
        task=args.task,
        seed=args.seed,
    )
    run = train(config, args.out, resume=args.resume)
    metrics = run / "metrics.json"
    if metrics.is_file():
        result = json.loads(metrics.read_text())
        shown = {k: result[k] for k in ("accuracy", "macro_f1", "ece", "mse", "r2") if k in result}
        print(
            f"trained -> {run}  "
            + "  ".join(f"{k}={v:.4g}" for k, v in shown.items() if v is not None)
        )
    return 0


def _predict(args: argparse.Namespace) -> int:
    from galaxy_xai.train.predict import load_trained, predict

    table = predict(
        load_trained(args.model, allow_unfinished=args.allow_unfinished),
        args.data,
        out=args.out,
        shard=args.shard,
        device=_device(args),
        **given(args, "mc_samples", "batch_size", "seed"),
    )
    print(f"{len(table)} predictions -> {args.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from galaxy_xai.train.predict import evaluate, load_trained

    result = evaluate(
        load_trained(args.model, allow_unfinished=args.allow_unfinished),
        args.data,
        out=args.out,
        device=_device(args),
        **given(args, "split", "batch_size"),
        **({"n_bins": args.bins} if args.bins is not None else {}),
    )
    keys = ("n", "accuracy", "macro_f1", "ece", "mse", "rmse", "mae", "r2")
    for key in keys:
        if key in result and result[key] is not None:
            value = result[key]
            print(f"{key:<10} {value:.4g}" if isinstance(value, float) else f"{key:<10} {value}")
    if "confusion_matrix" in result:
        print("confusion (rows true, columns predicted):", result["class_names"])
        for name, row in zip(result["class_names"], result["confusion_matrix"], strict=True):
            print(f"  {name:<16} {row}")
    if args.out:
        print(f"-> {args.out}")
    return 0
