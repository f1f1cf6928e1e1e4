"""gz1-classify: 4-class Galaxy Zoo 1 morphology on real SDSS colour images.

Classes: elliptical (GZ1 0), spiral (1 clockwise + 2 anticlockwise), edge-on (3),
merger (5); "don't know" (4) is dropped by the class map. Seeded split stratified by
class, 20% test (70/10/20). The compact CNN is trained on RGB cutouts (a central crop
of the 423 px JPEG, resized), with on-the-fly rotations, flips and shifts (no
brightness change: an additive offset greys the colours of these dark cutouts), AdamW + cosine schedule and square-root inverse-frequency class weights
(mergers are 115 of 6,608; "balanced" weights raised merger F1 a little but cost
~0.1 accuracy in our runs). Keys ``accuracy`` and ``macro_f1`` are on the test split,
with bootstrap 95% intervals (``accuracy_ci_low`` ...). ``accuracy_offsets`` and
``macro_f1_offsets``: the same network with the class offsets of the ``gz1-morphology``
recipe (:mod:`galaxy_xai.train.offsets`: one log-probability offset per class, chosen on
the val split, undoing the over-prediction of rare classes that the class weights
cause); ``class_offsets`` gives them.

Label audit: the GZ1 leaf classes are volunteer majority votes, and some are wrong
(edge-on disks labelled elliptical, for one). The benchmark writes
``results/gz1-classify-disagreements.png``, the test galaxies where the network
disagrees most confidently with the label, for each confused pair of classes, and
counts them (``n_confident_disagreements``: confidence >= 0.9), so that a reader can
judge how much of the error is the network's and how much the labels'.

Quick mode: 48 px, crop 0.5, width 16, 10 epochs (training capped at 220 s). Full
mode: 64 px, crop 0.4 (galaxies fill more of the frame, spiral arms stay resolved),
width 24, five blocks, 24 epochs (capped at 22 min). Both use one torch thread
(``GALAXY_XAI_BENCH_THREADS`` to change): on a shared 2-core machine two threads were
up to 3x slower than one.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import numpy as np

from benchmarks._common import cache_dir, data_dir
from galaxy_xai.data.readers.gz1 import GZ1_MORPHOLOGY_MAP
from galaxy_xai.stats import bootstrap_interval, macro_f1

#: Where the label-audit montage is written (beside the benchmark's JSON).
DISAGREEMENTS_PNG = "gz1-classify-disagreements.png"
#: Network confidence above which a disagreement with the label is "confident".
CONFIDENT = 0.9

CLASS_MAP = GZ1_MORPHOLOGY_MAP

SETTINGS = {
    True: {"size": 48, "crop": 0.5, "width": 16, "depth": 4, "epochs": 10, "max_time_s": 220},
    False: {"size": 64, "crop": 0.4, "width": 24, "depth": 5, "epochs": 24, "max_time_s": 1320},
}


def gz1_dataset(size: int, channels: str = "rgb", crop: float = 0.5):
    """The GZ1 images imported once into the benchmark cache."""
    from galaxy_xai.data import import_dataset

    out = cache_dir() / f"gz1_{size}px_{channels}_crop{round(crop * 100)}.h5"
    if not out.exists():
        import_dataset("gz1", data_dir() / "gz1-sdss", out, size=size, crop=crop,
                       channels=channels, workers=min(2, os.cpu_count() or 1))  # fmt: skip
    return out


def torch_threads() -> int:
    """Torch threads for the benchmarks: ``GALAXY_XAI_BENCH_THREADS``, default 1.

    On a 2-core machine shared with other work, two threads are often several times
    slower than one (they wait on each other); one thread is the predictable choice.
    """
    value = os.environ.get("GALAXY_XAI_BENCH_THREADS", "1")
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        from galaxy_xai.errors import ParameterError

        raise ParameterError("GALAXY_XAI_BENCH_THREADS", value, "must be an integer >= 1")
    return threads


def run_model(model: str) -> dict:
    """Score a trained model (``zoo:gz1-morphology``, a run folder) on the fixed test split.

    The images are imported as the model's card says (size, crop); the model's own
    ``split.json`` must hold the benchmark's test split (same seed, fractions, ids).
    """
    from galaxy_xai.models.files import find_model
    from galaxy_xai.train import evaluate, load_trained

    trained = load_trained(model)
    prep = trained.preprocessing
    size = int(prep.get("size", trained.input_shape[1]))
    data = gz1_dataset(size, crop=float(prep.get("crop", SETTINGS[False]["crop"])))
    run_dir = find_model(model).parent
    metrics = evaluate(trained, data, split="test")
    return {**_test_figures(metrics, run_dir, data), "image_size": size}


def _test_figures(metrics: dict, run_dir, data) -> dict:
    """The benchmark's keys from a run's test metrics, with the label audit."""
    audit = label_audit(run_dir, data, cache_dir().parent / DISAGREEMENTS_PNG)
    return {
        "accuracy": round(metrics["accuracy"], 4),
        "macro_f1": round(metrics["macro_f1"], 4),
        **audit,
        "ece": round(metrics["ece"], 4),
        **{f"f1_{k}": round(v, 4) for k, v in metrics["f1_per_class"].items()},
        "n_test": metrics["n"],
    }


def run(quick: bool, model: str | None = None) -> dict:
    import torch

    from galaxy_xai.train import evaluate, load_train_config, train
    from galaxy_xai.zoo.recipe_base import offset_stage

    if model is not None:
        return run_model(model)
    s = SETTINGS[bool(quick)]
    threads = torch_threads()
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    data = gz1_dataset(s["size"], crop=s["crop"])
    t_data = time.perf_counter() - t0
    config = load_train_config(
        {
            "data": {"path": str(data), "target": "label", "class_map": CLASS_MAP,
                     "train_fraction": 0.7, "val_fraction": 0.1, "test_fraction": 0.2},
            "model": {"name": "compact", "kwargs": {"width": s["width"], "depth": s["depth"],
                                                    "dense_units": 64, "dropout": 0.2}},
            "optim": {"name": "adamw", "lr": 3e-3, "weight_decay": 1e-4, "schedule": "cosine",
                      "class_weighting": "sqrt"},
            # no additive brightness change: on these dark cutouts it greys the colours
            "augment": {"rotation_degrees": 180.0, "flips": True, "shift_fraction": 0.05,
                        "brightness": 0.0},
            "trainer": {"max_epochs": s["epochs"], "batch_size": 64, "patience": 0,
                        "accelerator": "cpu", "max_time_s": s["max_time_s"]},
            "seed": 0,
        }
    )  # fmt: skip
    run_dir = cache_dir() / f"gz1_classify_{'quick' if quick else 'full'}"
    shutil.rmtree(run_dir, ignore_errors=True)
    t0 = time.perf_counter()
    train(config, run_dir)
    t_train = time.perf_counter() - t0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # the recipe's class offsets (chosen on the val split) on the same network: the
    # figures without them above are this run's baseline
    offset_run, offsets = offset_stage(run_dir, data, cache_dir() / f"{run_dir.name}_offsets")
    with_offsets = evaluate(offset_run, data, split="test")
    return {
        **_test_figures(metrics, run_dir, data),
        "accuracy_offsets": round(with_offsets["accuracy"], 4),
        "macro_f1_offsets": round(with_offsets["macro_f1"], 4),
        "class_offsets": offsets,
        "epochs": metrics["epochs_trained"],
        "image_size": s["size"],
        "crop": s["crop"],
        "torch_threads": threads,
        "import_s": round(t_data, 1),
        "train_s": round(t_train, 1),
    }


def test_predictions(run_dir, data) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Test-split ``(probabilities (N, K), label index (N,), dataset rows (N,), names)``."""
    from galaxy_xai.data import open_dataset
    from galaxy_xai.train import load_trained
    from galaxy_xai.train.predict import predict

    trained = load_trained(run_dir)
    names = list(trained.output_names)
    test_ids = set(json.loads((run_dir / "split.json").read_text())["test"])
    with open_dataset(data) as ds:
        ids = ds.catalog["id"].astype(str).to_numpy()
        labels = ds.catalog["label"].to_numpy()
    rows = np.flatnonzero(np.isin(ids, list(test_ids)))
    table = predict(trained, data, indices=rows)
    probs = table[[f"prob_{n}" for n in names]].to_numpy()
    truth = np.array([names.index(CLASS_MAP[int(v)]) for v in labels[rows]])
    return probs, truth, rows, names


def label_audit(run_dir, data, out_png, *, per_pair: int = 8) -> dict:
    """Intervals on accuracy and macro-F1, and the most confident disagreements (PNG).

    Returns the keys ``accuracy_ci_low/high``, ``macro_f1_ci_low/high``,
    ``n_confident_disagreements`` (test galaxies whose predicted class differs from
    the label with confidence >= :data:`CONFIDENT`), their share of all errors
    (``confident_share_of_errors``), and ``disagreements_png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from galaxy_xai.data import open_dataset
    from galaxy_xai.io import atomic_output

    probs, truth, rows, names = test_predictions(run_dir, data)
    pred = probs.argmax(1)
    conf = probs.max(1)
    wrong = pred != truth
    k = len(names)
    acc_ci = bootstrap_interval(len(truth), lambda i: float(np.mean(~wrong[i])))
    f1_ci = bootstrap_interval(len(truth), lambda i: macro_f1(truth[i], pred[i], k))
    # the class pairs with the most errors, each shown by its most confident cases
    pairs = sorted(
        (
            (int(np.sum((truth == a) & (pred == b))), a, b)
            for a in range(k)
            for b in range(k)
            if a != b
        ),
        reverse=True,
    )[:4]
    with open_dataset(data) as ds:
        fig, axes = plt.subplots(len(pairs), per_pair, figsize=(1.6 * per_pair, 1.8 * len(pairs)))
        for r, (count, a, b) in enumerate(pairs):
            cases = np.flatnonzero((truth == a) & (pred == b))
            cases = cases[np.argsort(-probs[cases, b])][:per_pair]
            for c in range(per_pair):
                ax = axes[r, c]
                ax.set_axis_off()
                if c >= len(cases):
                    continue
                img = np.asarray(ds.images[int(rows[cases[c]])], dtype=np.float32)
                img = np.moveaxis(img, 0, -1) if img.shape[0] in (1, 3) else img
                ax.imshow(np.clip(img / max(float(img.max()), 1e-6), 0, 1).squeeze())
                ax.set_title(f"{names[a]}->{names[b]}\np={probs[cases[c], b]:.2f}", fontsize=7)
            axes[r, 0].text(-0.1, 0.5, f"{count} errors", transform=axes[r, 0].transAxes,
                            rotation=90, ha="right", va="center", fontsize=7)  # fmt: skip
        fig.suptitle("GZ1 test galaxies: label -> network, most confident first", fontsize=9)
        fig.tight_layout()
        with atomic_output(out_png) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
    n_conf = int(np.sum(wrong & (conf >= CONFIDENT)))
    return {
        "accuracy_ci_low": round(acc_ci[0], 4),
        "accuracy_ci_high": round(acc_ci[1], 4),
        "macro_f1_ci_low": round(f1_ci[0], 4),
        "macro_f1_ci_high": round(f1_ci[1], 4),
        "n_confident_disagreements": n_conf,
        "confident_share_of_errors": round(n_conf / max(int(wrong.sum()), 1), 4),
        "disagreements_png": str(out_png),
    }
