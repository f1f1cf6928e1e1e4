"""``galaxy-xai distill buffer|run|evaluate``: the distillation command line."""

from __future__ import annotations

import argparse
from typing import Any

from galaxy_xai.cli_types import COUNT, NON_NEGATIVE, POSITIVE, SEED, Number, output_path

__all__ = ["add_parser"]


def add_parser(subparsers: Any) -> None:
    """Add ``distill`` with its ``buffer``, ``run`` and ``evaluate`` subcommands."""
    parser = subparsers.add_parser(
        "distill",
        help="dataset distillation: expert buffers, MTT/STM matching, evaluation",
        description="Distil a labelled dataset into a few synthetic images per class by "
        "matching training trajectories (MTT, Cazenavette et al. 2022) with the "
        "self-adaptive schedule of Guan et al. 2023 (STM).",
    )
    sub = parser.add_subparsers(dest="distill_command", metavar="STEP", required=True)

    b = sub.add_parser("buffer", help="train expert networks and save their trajectories")
    b.add_argument("--data", required=True, help="labelled dataset file (.h5)")
    b.add_argument("--experts", type=COUNT, default=10, help="number of experts (default 10)")
    b.add_argument("--epochs", type=COUNT, default=50, help="epochs per expert (default 50)")
    b.add_argument("--out", required=True, type=output_path, help="buffer folder (rerun to resume)")
    b.add_argument("--target", default="label", help="integer class column (default label)")
    b.add_argument(
        "--class-map",
        default=None,
        help="old:new label map, e.g. '0:elliptical,1:spiral,2:spiral,3:edge-on,5:merger', "
        "a JSON/YAML file, or a preset (gz1-4); unlisted labels are dropped",
    )
    b.add_argument("--lr-teacher", type=POSITIVE, default=0.01, help="teacher SGD lr (0.01)")
    b.add_argument("--batch-size", type=COUNT, default=256, help="teacher minibatch (256)")
    b.add_argument("--zca", action="store_true", help="ZCA-whiten the images")
    b.add_argument("--seed", type=SEED, default=0, help="seed of the experts (0)")
    b.add_argument("--split-seed", type=SEED, default=0, help="seed of the train/val/test split")
    b.add_argument("--width", type=COUNT, default=128, help="ConvNet width (128)")
    b.add_argument("--depth", type=COUNT, default=3, help="ConvNet depth (3 for 32 px)")
    b.add_argument(
        "--augment",
        default=None,
        help="DSA operations joined by '_' (default color_crop_cutout_flip_scale_rotate; "
        "drop 'flip' when clockwise/anticlockwise spirals are separate classes; 'none' off)",
    )
    b.set_defaults(func=_buffer)

    r = sub.add_parser("run", help="learn synthetic images by trajectory matching")
    r.add_argument("--buffer", required=True, help="expert buffer folder")
    r.add_argument("--ipc", type=COUNT, required=True, help="synthetic images per class")
    r.add_argument("--method", choices=("mtt", "stm"), default="stm", help="schedule (stm)")
    r.add_argument("--out", required=True, type=output_path, help="run folder")
    r.add_argument("--iterations", type=COUNT, default=5000, help="outer iterations (5000)")
    r.add_argument("--syn-steps", type=COUNT, default=20, help="student steps N (20)")
    r.add_argument("--expert-epochs", type=COUNT, default=2, help="expert epochs matched M (2)")
    r.add_argument(
        "--max-start-epoch", type=COUNT, default=20, help="MTT: start epochs 0..this-1 (20)"
    )
    r.add_argument("--lr-img", type=POSITIVE, default=100.0, help="image learning rate (100)")
    r.add_argument("--lr-lr", type=NON_NEGATIVE, default=1e-5, help="lr of the learnt lr (1e-5)")
    r.add_argument("--lr-init", type=POSITIVE, default=None, help="initial synthetic lr")
    r.add_argument("--init", choices=("real", "noise"), default="real", help="initialisation")
    r.add_argument("--batch-syn", type=COUNT, default=None, help="images per student step")
    r.add_argument("--seed", type=SEED, default=0)
    r.add_argument("--checkpoint-every", type=COUNT, default=50, help="iterations (50)")
    r.add_argument("--data", default=None, help="the buffer's dataset, if it has moved")
    r.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    stm = r.add_argument_group("STM constants (Guan et al. 2023 defaults)")
    stm.add_argument(
        "--stm-test-every", type=Number(int, 3), default=10, help="iterations, >= 3 (10)"
    )
    stm.add_argument("--stm-stage-limit", type=COUNT, default=1000)
    stm.add_argument("--stm-decay-every", type=COUNT, default=50)
    stm.add_argument(
        "--stm-decay-factor",
        type=Number(float, 0.0, 1.0, low_open=True, high_open=True),
        default=0.8,
        help="in (0, 1) (0.8)",
    )
    stm.add_argument(
        "--stm-lr-floor", type=NON_NEGATIVE, default=1.0, help="fine-tuning ends below this lr_img"
    )
    r.set_defaults(func=_run)

    e = sub.add_parser("evaluate", help="train fresh networks on a distilled set, with baselines")
    e.add_argument("--distilled", required=True, help="run folder or distilled.pt")
    e.add_argument("--data", default=None, help="dataset (default: the buffer's)")
    e.add_argument("--runs", type=COUNT, default=5, help="networks per set (5)")
    e.add_argument("--epochs", type=COUNT, default=300, help="epochs on small sets (300)")
    e.add_argument("--full-epochs", type=COUNT, default=30, help="epochs on the full set (30)")
    e.add_argument(
        "--baselines", default="random,mean,full", help="comma list of random,mean,full or ''"
    )
    e.add_argument("--saliency", default="smoothgrad", help="method for prototype maps; 'none'")
    e.add_argument("--seed", type=SEED, default=0)
    e.add_argument("--out", required=True, type=output_path, help="results JSON")
    e.set_defaults(func=_evaluate)


def _buffer(args: argparse.Namespace) -> int:
    from galaxy_xai.distill.buffer import BufferConfig, train_experts

    kwargs = {
        "experts": args.experts,
        "epochs": args.epochs,
        "lr_teacher": args.lr_teacher,
        "batch_size": args.batch_size,
        "zca": args.zca,
        "seed": args.seed,
        "target": args.target,
        "class_map": args.class_map,
        "split_seed": args.split_seed,
        "width": args.width,
        "depth": args.depth,
    }
    if args.augment is not None:
        kwargs["augment"] = args.augment
    buffer = train_experts(args.data, args.out, BufferConfig(**kwargs))
    acc = buffer.validation_accuracy()[:, -1]
    print(
        f"buffer '{buffer.path}': {len(buffer)} experts x {buffer.epochs} epochs, classes "
        f"{buffer.class_names}; final validation accuracy {acc.mean():.3f} +- {acc.std():.3f}"
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    from galaxy_xai.distill.mtt import DistillConfig, distill
    from galaxy_xai.distill.schedule import STMConstants

    config = DistillConfig(
        ipc=args.ipc,
        method=args.method,
        iterations=args.iterations,
        syn_steps=args.syn_steps,
        expert_epochs=args.expert_epochs,
        max_start_epoch=args.max_start_epoch,
        lr_img=args.lr_img,
        lr_lr=args.lr_lr,
        lr_init=args.lr_init,
        init=args.init,
        batch_syn=args.batch_syn,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        stm=STMConstants(
            test_every=args.stm_test_every,
            stage_limit=args.stm_stage_limit,
            decay_every=args.stm_decay_every,
            decay_factor=args.stm_decay_factor,
            lr_floor=args.stm_lr_floor,
        ),
    )
    result = distill(args.buffer, args.out, config, resume=args.resume, data_path=args.data)
    last = result.history[-1] if result.history else {}
    print(
        f"distilled {len(result.images)} images ({args.ipc} per class, {args.method}) in "
        f"'{result.path}': {result.iterations_done} iterations, final loss "
        f"{last.get('loss', float('nan')):.4f}, max start epoch "
        f"{last.get('max_start_epoch', '?')}, learnt lr {result.syn_lr:.4g}, "
        f"{result.seconds_per_iteration:.3f} s/iteration"
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from galaxy_xai.distill.evaluate import EvalConfig, evaluate_distilled

    baselines = tuple(b.strip() for b in args.baselines.split(",") if b.strip())
    config = EvalConfig(
        runs=args.runs,
        epochs=args.epochs,
        full_epochs=args.full_epochs,
        baselines=baselines,
        seed=args.seed,
        saliency=None if args.saliency in ("none", "") else args.saliency,
    )
    results = evaluate_distilled(args.distilled, args.data, config=config, out=args.out)
    print(f"test accuracy over {args.runs} runs (chance {results['chance']:.3f}):")
    for name in ("distilled", *baselines):
        r = results[name]
        print(f"  {name:<10} {r['mean']:.3f} +- {r['std']:.3f}")
    print(f"results written to '{args.out}'")
    return 0
