"""``galaxy-xai distill buffer|run|evaluate``: the distillation command line."""

from __future__ import annotations

import argparse
from typing import Any

from galaxy_xai.cli_types import (
    COUNT,
    NON_NEGATIVE,
    POSITIVE,
    SEED,
    Number,
    add_config_option,
    add_subcommands,
    config_from_args,
    defaults_from,
    deprecated_alias,
    output_path,
    str_list,
)

__all__ = ["add_parser"]

_BUFFER = "galaxy_xai.distill.buffer:BufferConfig"
_DISTILL = "galaxy_xai.distill.mtt:DistillConfig"
_EVAL = "galaxy_xai.distill.evaluate:EvalConfig"
# option dest -> config field
_BUFFER_FIELDS = {
    "experts": "experts", "epochs": "epochs", "label_col": "target", "class_map": "class_map",
    "lr_teacher": "lr_teacher", "batch_size": "batch_size", "zca": "zca", "seed": "seed",
    "split_seed": "split_seed", "width": "width", "depth": "depth", "augment": "augment",
}  # fmt: skip
_RUN_FIELDS = {
    "ipc": "ipc", "method": "method", "iterations": "iterations", "syn_steps": "syn_steps",
    "expert_epochs": "expert_epochs", "max_start_epoch": "max_start_epoch",
    "lr_img": "lr_img", "lr_lr": "lr_lr", "lr_init": "lr_init", "init": "init",
    "batch_syn": "batch_syn", "seed": "seed", "checkpoint_every": "checkpoint_every",
    "stm_test_every": "stm.test_every", "stm_stage_limit": "stm.stage_limit",
    "stm_decay_every": "stm.decay_every", "stm_decay_factor": "stm.decay_factor",
    "stm_lr_floor": "stm.lr_floor",
}  # fmt: skip
_EVAL_FIELDS = {
    "runs": "runs", "epochs": "epochs", "full_epochs": "full_epochs",
    "baselines": "baselines", "seed": "seed", "saliency": "saliency",
}  # fmt: skip


def add_parser(subparsers: Any) -> None:
    """Add ``distill`` with its ``buffer``, ``run`` and ``evaluate`` subcommands."""
    parser = subparsers.add_parser(
        "distill",
        help="dataset distillation: expert buffers, MTT/STM matching, evaluation",
        description="Distil a labelled dataset into a few synthetic images per class by "
        "matching training trajectories (MTT, Cazenavette et al. 2022) with the "
        "self-adaptive schedule of Guan et al. 2023 (STM). Each step's options override "
        "its --config file.",
    )
    sub = add_subcommands(parser, "distill_command")

    b = sub.add_parser("buffer", help="train expert networks and save their trajectories")
    b.add_argument("--data", required=True, help="labelled dataset file (.h5)")
    add_config_option(b, "BufferConfig (galaxy_xai.distill.buffer)")
    b.add_argument("--experts", type=COUNT, help="number of experts")
    b.add_argument("--epochs", type=COUNT, help="epochs per expert")
    b.add_argument("--out", required=True, type=output_path, help="buffer folder (rerun to resume)")
    b.add_argument("--label-col", help="integer class column")
    deprecated_alias(b, "--target", "--label-col")
    b.add_argument(
        "--class-map",
        help="old:new label map, e.g. '0:elliptical,1:spiral,2:spiral,3:edge-on,5:merger', "
        "a JSON/YAML file, or a preset (gz1-4); unlisted labels are dropped",
    )
    b.add_argument("--lr-teacher", type=POSITIVE, help="teacher SGD lr")
    b.add_argument("--batch-size", type=COUNT, help="teacher minibatch")
    b.add_argument("--zca", action="store_true", default=None, help="ZCA-whiten the images")
    b.add_argument("--seed", type=SEED, help="seed of the experts")
    b.add_argument("--split-seed", type=SEED, help="seed of the train/val/test split")
    b.add_argument("--width", type=COUNT, help="ConvNet width")
    b.add_argument("--depth", type=COUNT, help="ConvNet depth (3 for 32 px)")
    b.add_argument(
        "--augment",
        help="DSA operations joined by '_' (drop 'flip' when clockwise/anticlockwise "
        "spirals are separate classes; 'none' off)",
    )
    defaults_from(b, _BUFFER, {k: v for k, v in _BUFFER_FIELDS.items() if k not in ("zca", "class_map")})  # fmt: skip
    b.set_defaults(func=_buffer)

    r = sub.add_parser("run", help="learn synthetic images by trajectory matching")
    r.add_argument("--buffer", required=True, help="expert buffer folder")
    add_config_option(r, "DistillConfig (galaxy_xai.distill.mtt)")
    r.add_argument("--ipc", type=COUNT, required=True, help="synthetic images per class")
    r.add_argument("--method", choices=("mtt", "stm"), help="schedule")
    r.add_argument("--out", required=True, type=output_path, help="run folder")
    r.add_argument("--iterations", type=COUNT, help="outer iterations")
    r.add_argument("--syn-steps", type=COUNT, help="student steps N")
    r.add_argument("--expert-epochs", type=COUNT, help="expert epochs matched M")
    r.add_argument("--max-start-epoch", type=COUNT, help="MTT: start epochs 0..this-1")
    r.add_argument("--lr-img", type=POSITIVE, help="image learning rate")
    r.add_argument("--lr-lr", type=NON_NEGATIVE, help="lr of the learnt lr")
    r.add_argument("--lr-init", type=POSITIVE, help="initial synthetic lr (none: the teachers')")
    r.add_argument("--init", choices=("real", "noise"), help="initialisation")
    r.add_argument("--batch-syn", type=COUNT, help="images per student step (none: all)")
    r.add_argument("--seed", type=SEED, help="seed of the initialisation and the draws")
    r.add_argument("--checkpoint-every", type=COUNT, help="iterations between checkpoints")
    r.add_argument("--data", default=None, help="the buffer's dataset, if it has moved")
    r.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    stm = r.add_argument_group("STM constants (Guan et al. 2023 defaults)")
    stm.add_argument("--stm-test-every", type=Number(int, 3), help="iterations, >= 3")
    stm.add_argument("--stm-stage-limit", type=COUNT, help="iterations a stage may take")
    stm.add_argument("--stm-decay-every", type=COUNT, help="fine-tuning decay interval")
    stm.add_argument(
        "--stm-decay-factor",
        type=Number(float, 0.0, 1.0, low_open=True, high_open=True),
        help="fine-tuning lr_img multiplier, in (0, 1)",
    )
    stm.add_argument("--stm-lr-floor", type=NON_NEGATIVE, help="fine-tuning ends below this lr_img")
    defaults_from(r, _DISTILL, {k: v for k, v in _RUN_FIELDS.items() if k != "ipc"})
    r.set_defaults(func=_run)

    e = sub.add_parser("evaluate", help="train fresh networks on a distilled set, with baselines")
    e.add_argument("--distilled", required=True, help="run folder or distilled.pt")
    add_config_option(e, "EvalConfig (galaxy_xai.distill.evaluate)")
    e.add_argument("--data", default=None, help="dataset (default: the buffer's)")
    e.add_argument("--runs", type=COUNT, help="networks per set")
    e.add_argument("--epochs", type=COUNT, help="epochs on small sets")
    e.add_argument("--full-epochs", type=COUNT, help="epochs on the full set")
    e.add_argument("--baselines", type=str_list, help="comma list of random,mean,full or ''")
    e.add_argument("--saliency", help="method for prototype maps; 'none' off")
    e.add_argument("--seed", type=SEED, help="seed of the networks")
    e.add_argument("--out", required=True, type=output_path, help="results JSON")
    defaults_from(e, _EVAL, _EVAL_FIELDS)
    e.set_defaults(func=_evaluate)


def _buffer(args: argparse.Namespace) -> int:
    from galaxy_xai.distill.buffer import BufferConfig, train_experts

    buffer = train_experts(
        args.data, args.out, config_from_args(BufferConfig, args, _BUFFER_FIELDS)
    )
    acc = buffer.validation_accuracy()[:, -1]
    print(
        f"buffer '{buffer.path}': {len(buffer)} experts x {buffer.epochs} epochs, classes "
        f"{buffer.class_names}; final validation accuracy {acc.mean():.3f} +- {acc.std():.3f}"
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    from galaxy_xai.distill.mtt import DistillConfig, distill

    config = config_from_args(DistillConfig, args, _RUN_FIELDS)
    result = distill(args.buffer, args.out, config, resume=args.resume, data_path=args.data)
    last = result.history[-1] if result.history else {}
    print(
        f"distilled {len(result.images)} images ({config.ipc} per class, {config.method}) in "
        f"'{result.path}': {result.iterations_done} iterations, final loss "
        f"{last.get('loss', float('nan')):.4f}, max start epoch "
        f"{last.get('max_start_epoch', '?')}, learnt lr {result.syn_lr:.4g}, "
        f"{result.seconds_per_iteration:.3f} s/iteration"
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import dataclasses

    from galaxy_xai.distill.evaluate import EvalConfig, evaluate_distilled

    config = config_from_args(EvalConfig, args, _EVAL_FIELDS)
    if config.saliency in ("none", ""):
        config = dataclasses.replace(config, saliency=None)
    results = evaluate_distilled(args.distilled, args.data, config=config, out=args.out)
    print(f"test accuracy over {config.runs} runs (chance {results['chance']:.3f}):")
    for name in ("distilled", *config.baselines):
        r = results[name]
        print(f"  {name:<10} {r['mean']:.3f} +- {r['std']:.3f}")
    print(f"results written to '{args.out}'")
    return 0
