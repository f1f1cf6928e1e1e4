"""gz1-audit: likely label errors of Galaxy Zoo 1 (cleanlab), and what removing them buys.

The GZ1 leaf classes (elliptical / spiral / edge-on / merger; "don't know" dropped, as
in ``gz1-classify``) are volunteer majority votes, and some are plainly wrong.

* Split: fixed, seeded, stratified 80/20 train/test (``split_indices``, seed 0).
* Audit (``galaxy_xai.audit.audit_dataset``): out-of-fold probabilities by k-fold
  training *within* each part (the train part's folds never see a test galaxy, and
  the test part is audited by folds of the test part only), ranked by cleanlab.
* Effect: the same network trained on the whole train part (``accuracy_all``) and on
  the train part without its flagged galaxies (``accuracy_cleaned``), both tested on
  the test part without *its* flagged galaxies (the audited test split); on the full
  test split too (``*_full_test``). 95% bootstrap intervals; the paired difference has
  its own interval.
* Check by eye: a seeded random sample of 40 flagged galaxies is written as a numbered
  montage of their original JPEGs (central half; ``results/gz1-audit-check40.png``)
  and CSV. A reader's verdicts, one per
  galaxy, live in ``benchmarks/reader_checks/gz1-audit-check40.csv`` (``id,verdict``
  with verdict ``wrong`` = the given label is wrong, ``right``, or ``unsure``);
  ``reader_agrees_share`` is the share of ``wrong`` among the decided ones, with a
  Wilson interval, when the verdicts are of this sample (else ``null``).
* Bias check: the audit's flagged share per class and predicted-class share vs galaxy
  size and brightness (``results/gz1-audit-bias.png``).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import cache_dir, data_dir
from benchmarks.gz1_classify import CLASS_MAP, gz1_dataset

RESULTS = Path(__file__).resolve().parent / "results"
VERDICTS = Path(__file__).resolve().parent / "reader_checks" / "gz1-audit-check40.csv"
N_CHECK = 40
SETTINGS = {
    True: {"size": 48, "crop": 0.5, "folds": 3, "epochs": 4, "final_epochs": 6},
    False: {"size": 48, "crop": 0.5, "folds": 5, "epochs": 10, "final_epochs": 16},
}


def _train_config(epochs: int) -> dict[str, Any]:
    from galaxy_xai.audit import AUDIT_TRAIN_DEFAULTS

    cfg = json.loads(json.dumps(AUDIT_TRAIN_DEFAULTS))
    cfg["trainer"]["max_epochs"] = epochs
    return cfg


def _fit(data: Path, ids: list[str], run_dir: Path, epochs: int) -> Path:
    from galaxy_xai.audit.folds import train_subset

    return train_subset(data, ids, run_dir, _train_config(epochs), class_map=CLASS_MAP,
                        resume=True)  # fmt: skip


def _accuracy(run: Path, data: Path, rows: np.ndarray, labels: np.ndarray, names: list[str]
              ) -> np.ndarray:  # fmt: skip
    from galaxy_xai.train import load_trained
    from galaxy_xai.train.predict import predict

    trained = load_trained(run)
    table = predict(trained, data, indices=rows)
    probs = table[[f"prob_{n}" for n in names]].to_numpy()
    return (probs.argmax(1) == labels).astype(float)


def _ci(values: np.ndarray) -> list[float]:
    from galaxy_xai.stats import bootstrap_ci95

    return bootstrap_ci95((values,), lambda v: float(np.mean(v)))


def _original_jpeg(ident: str) -> np.ndarray:
    """The central half of a galaxy's original 423 px GZ1 JPEG ``(3, H, W)`` in [0, 1]:
    what a reader judges the label on (the network's 48 px input is too coarse)."""
    from PIL import Image

    with Image.open(data_dir() / "gz1-sdss" / "images" / f"{ident}.jpeg") as im:
        w, h = im.size
        crop = np.asarray(im.convert("RGB").crop((w // 4, h // 4, 3 * w // 4, 3 * h // 4)))
    return np.moveaxis(crop.astype(np.float32) / 255.0, -1, 0)


def _reader_share(sample_ids: list[str]) -> dict[str, Any]:
    import pandas as pd
    from scipy.stats import binomtest

    if not VERDICTS.is_file():
        return {"reader_agrees_share": None, "reader_check": f"pending: no {VERDICTS.name}"}
    verdicts = pd.read_csv(VERDICTS, dtype={"id": str})
    if sorted(verdicts["id"]) != sorted(sample_ids):
        return {"reader_agrees_share": None,
                "reader_check": "pending: the verdicts are of another sample"}  # fmt: skip
    counts = verdicts["verdict"].str.strip().str.lower().value_counts()
    wrong, right = int(counts.get("wrong", 0)), int(counts.get("right", 0))
    decided = wrong + right
    if decided == 0:
        return {"reader_agrees_share": None, "reader_check": "no decided verdicts"}
    ci = binomtest(wrong, decided).proportion_ci(method="wilson")
    return {
        "reader_agrees_share": round(wrong / decided, 3),
        "reader_agrees_share_ci_low": round(float(ci.low), 3),
        "reader_agrees_share_ci_high": round(float(ci.high), 3),
        "reader_n_wrong": wrong,
        "reader_n_right": right,
        "reader_n_unsure": int(counts.get("unsure", 0)),
    }


def run(quick: bool) -> dict[str, Any]:
    import pandas as pd
    import torch

    from benchmarks.gz1_classify import torch_threads
    from galaxy_xai.audit import audit_dataset
    from galaxy_xai.audit.figures import check_sample_montage
    from galaxy_xai.audit.folds import labelled_rows
    from galaxy_xai.data.splits import split_indices

    torch.set_num_threads(torch_threads())
    s = SETTINGS[quick]
    mode = "quick" if quick else "full"
    work = cache_dir() / f"gz1_audit_{mode}"
    t0 = time.perf_counter()
    data = gz1_dataset(s["size"], crop=s["crop"])
    rows, ids, labels, names = labelled_rows(data, class_map=CLASS_MAP)
    parts = split_indices(ids, {"train": 0.8, "test": 0.2}, seed=0, stratify=labels)
    t_data = time.perf_counter() - t0

    t0 = time.perf_counter()
    audits = {}
    for part in ("train", "test"):
        audits[part] = audit_dataset(
            data, work / f"audit_{part}", folds=s["folds"], class_map=CLASS_MAP,
            train_config=_train_config(s["epochs"]), ids=ids[parts[part]], resume=True,
        )  # fmt: skip
    t_audit = time.perf_counter() - t0
    flagged = {p: set(a.table.loc[a.table["is_label_issue"], "id"]) for p, a in audits.items()}

    t0 = time.perf_counter()
    train_ids = list(ids[parts["train"]])
    runs = {
        "all": _fit(data, train_ids, work / "run_all", s["final_epochs"]),
        "cleaned": _fit(data, [i for i in train_ids if i not in flagged["train"]],
                        work / "run_cleaned", s["final_epochs"]),
    }  # fmt: skip
    t_train = time.perf_counter() - t0
    test = parts["test"]
    clean = np.array([ids[i] not in flagged["test"] for i in test])
    figures: dict[str, Any] = {}
    correct = {k: _accuracy(r, data, rows[test], labels[test], names) for k, r in runs.items()}
    for key, hits in correct.items():
        figures[f"accuracy_{key}"] = round(float(hits[clean].mean()), 4)
        figures[f"accuracy_{key}_ci95"] = _ci(hits[clean])
        figures[f"accuracy_{key}_full_test"] = round(float(hits.mean()), 4)
        figures[f"accuracy_{key}_full_test_ci95"] = _ci(hits)
    figures["accuracy_gain_ci95"] = _ci(correct["cleaned"][clean] - correct["all"][clean])
    figures["n_flagged"] = len(flagged["train"])
    figures["n_flagged_test"] = len(flagged["test"])
    figures["n_train"] = len(parts["train"])
    figures["n_test"] = len(test)
    figures["n_test_audited"] = int(clean.sum())
    figures["share_flagged_train"] = round(len(flagged["train"]) / len(parts["train"]), 4)
    figures["accuracy_out_of_fold_train"] = round(
        audits["train"].summary["accuracy_out_of_sample"], 4
    )
    figures["flagged_share_by_class"] = audits["train"].summary["bias"]["flagged_share_by_class"]
    figures["flagged_pairs"] = audits["train"].summary["flagged_pairs"]

    # a random sample of flagged galaxies for a reader to judge
    table = pd.concat([a.table[a.table["is_label_issue"]] for a in audits.values()])
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(table), size=min(N_CHECK, len(table)), replace=False))
    sample = table.iloc[pick].reset_index(drop=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    sample.insert(0, "tile", np.arange(1, len(sample) + 1))
    sample.to_csv(RESULTS / "gz1-audit-check40.csv", index=False)
    check_sample_montage(sample, _original_jpeg, RESULTS / "gz1-audit-check40.png")
    figures.update(_reader_share(list(sample["id"])))
    for name in ("suspects", "bias"):
        shutil.copyfile(audits["train"].out_dir / f"{name}.png", RESULTS / f"gz1-audit-{name}.png")
    from galaxy_xai.report import build_report

    figures["report"] = build_report(
        audits["train"].out_dir, RESULTS / "gz1-audit-report.html"
    ).name
    figures.update({
        "folds": s["folds"], "epochs_per_fold": s["epochs"], "final_epochs": s["final_epochs"],
        "image_size": s["size"], "time_data_s": round(t_data, 1),
        "time_audit_s": round(t_audit, 1), "time_train_s": round(t_train, 1),
    })  # fmt: skip
    return figures
