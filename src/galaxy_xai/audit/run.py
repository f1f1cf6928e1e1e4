"""``galaxy-xai audit``: likely label errors of a labelled dataset, with figures.

Out-of-sample probabilities (k-fold training, or a given model), ranked by
``cleanlab``; the suspects' montage with saliency maps of the suggested class; and the
bias check (flagged share per class, predicted-class share vs galaxy size and
brightness, measured from the images where the catalogue has neither).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.audit.figures import bias_figure, bias_table, suspects_montage
from galaxy_xai.audit.folds import Probabilities, from_model, out_of_fold
from galaxy_xai.audit.labels import flag_label_issues

__all__ = [
    "AUDIT_FILES",
    "AuditResult",
    "audit_dataset",
    "image_covariates",
    "write_audit_panel",
]

log = logging.getLogger(__name__)

#: What an audit folder holds.
AUDIT_FILES = {
    "issues": "label_issues.csv",
    "probabilities": "probabilities.csv",
    "summary": "audit.json",
    "suspects": "suspects.png",
    "bias": "bias.png",
}
#: Catalogue columns used for the bias check when present (size, brightness).
SIZE_COLUMNS = ("petro_theta_arcsec", "PETRO_THETA", "petro_r50_arcsec")
BRIGHTNESS_COLUMNS = ("magnitude", "petro_mag_r", "r_mag", "mag_r")


@dataclass(frozen=True)
class AuditResult:
    """An audit's table, probabilities and summary (also written to its folder)."""

    table: pd.DataFrame
    probabilities: Probabilities
    summary: dict[str, Any]
    out_dir: Path


def image_covariates(images: np.ndarray) -> dict[str, np.ndarray]:
    """Half-light radius (px) and log10 of the sky-subtracted light of each image."""
    from galaxy_xai.features.measure import galaxy_light, half_light_radius

    radius = np.full(len(images), np.nan)
    light = np.full(len(images), np.nan)
    for i, image in enumerate(images):
        values, galaxy = galaxy_light(image)
        total = float(values[galaxy].sum())
        if total > 0:
            radius[i] = half_light_radius(values, galaxy)
            light[i] = np.log10(total)
    return {"half_light_radius_px": radius, "log10_image_light": light}


def _covariates(catalog: pd.DataFrame, rows: np.ndarray, images: np.ndarray) -> dict[str, Any]:
    out = image_covariates(images)
    for options in (SIZE_COLUMNS, BRIGHTNESS_COLUMNS):
        col = next((c for c in options if c in catalog.columns), None)
        if col is not None:
            out[col] = pd.to_numeric(catalog[col], errors="coerce").to_numpy(float)[rows]
    return out


def audit_dataset(
    data: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] | None = None,
    folds: int = 5,
    label_col: str = "label",
    class_map: Mapping[str, str | None] | None = None,
    train_config: Mapping[str, Any] | None = None,
    ids: np.ndarray | None = None,
    seed: int = 0,
    resume: bool = False,
    saliency: bool = True,
    n_samples: int = 16,
    report_dir: str | os.PathLike[str] | None = None,
) -> AuditResult:
    """Audit the labels of a dataset; write the audit folder.

    Parameters
    ----------
    data
        Dataset file with a label column.
    out_dir
        Audit folder (:data:`AUDIT_FILES`; ``folds/`` with the fold runs).
    model
        A trained classifier (run folder, model file, ``zoo:NAME``) that never saw these
        galaxies; default: k-fold training.
    folds, train_config, seed, resume
        k-fold settings (see :func:`galaxy_xai.audit.folds.out_of_fold`).
    label_col, class_map
        The labels, resolved as ``train`` resolves them.
    ids
        Audit only these galaxies.
    saliency, n_samples
        Show SmoothGrad maps (``n_samples`` noisy copies) of the suggested class in
        the suspects' montage.
    report_dir
        Also write the report's audit panel into this run folder (it is always written
        into ``out_dir``, so that ``galaxy-xai report OUT`` shows the audit).

    Returns
    -------
    AuditResult

    Raises
    ------
    DataFormatError
        Labels the class map does not cover, or classes the model does not have.
    ParameterError
        Bad fold settings.
    """
    from galaxy_xai.data import open_dataset
    from galaxy_xai.io import atomic_output, write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if model is not None:
        probs = from_model(model, data, label_col=label_col, class_map=class_map, ids=ids)
        method = f"given model {model}"
    else:
        probs = out_of_fold(data, out / "folds", folds=folds, label_col=label_col,
                            class_map=class_map, train_config=train_config, ids=ids, seed=seed,
                            resume=resume)  # fmt: skip
        method = f"{folds}-fold out-of-fold training (stratified, seed {seed})"
    table = flag_label_issues(probs.labels, probs.probs, probs.class_names, list(probs.ids))
    prob_table = pd.DataFrame({"id": probs.ids, "given_label": np.asarray(probs.class_names)[
        probs.labels], "fold": probs.fold})  # fmt: skip
    for j, name in enumerate(probs.class_names):
        prob_table[f"prob_{name}"] = probs.probs[:, j]
    with atomic_output(out / AUDIT_FILES["probabilities"]) as tmp:
        prob_table.to_csv(tmp, index=False, float_format="%.6g")
    with atomic_output(out / AUDIT_FILES["issues"]) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")

    fold_of = {i: f for i, f in zip(probs.ids, probs.fold, strict=True)}
    with open_dataset(data) as ds:
        catalog = ds.catalog
        images = ds.images[probs.rows]  # any order, in one read
    position = {i: k for k, i in enumerate(probs.ids)}

    def image_of(ident: str) -> np.ndarray:
        return images[position[ident]]

    map_of = _map_function(probs, fold_of, image_of, n_samples) if saliency else None
    if map_of is not None:
        map_of = functools.lru_cache(maxsize=256)(map_of)
    suspects_montage(table, image_of, map_of, out / AUDIT_FILES["suspects"])
    predicted = np.asarray(probs.class_names)[probs.probs.argmax(1)]
    by_id = table.set_index("id").loc[probs.ids].reset_index()
    bias = bias_table(by_id, list(predicted), _covariates(catalog, probs.rows, images))
    bias_figure(bias, out / AUDIT_FILES["bias"])
    flagged = table[table["is_label_issue"]]
    pairs = flagged.groupby(["given_label", "suggested_label"]).size().sort_values(ascending=False)
    summary = {
        "data": str(data),
        "method": method,
        "models": probs.models,
        "ranking": "cleanlab.filter.find_label_issues(filter_by='prune_by_noise_rate'); "
        "self-confidence from cleanlab.rank.get_label_quality_scores",
        "class_names": probs.class_names,
        "n": len(table),
        "n_flagged": len(flagged),
        "share_flagged": float(len(flagged) / max(1, len(table))),
        "accuracy_out_of_sample": float(np.mean(probs.probs.argmax(1) == probs.labels)),
        "flagged_pairs": {f"{a}->{b}": int(v) for (a, b), v in pairs.items()},
        "bias": bias,
        "files": AUDIT_FILES,
    }
    write_json(out / AUDIT_FILES["summary"], summary)
    result = AuditResult(table, probs, summary, out)
    for run_dir in (out, *([Path(report_dir)] if report_dir is not None else [])):
        write_audit_panel(result, run_dir, image_of=image_of, map_of=map_of)
    return result


def write_audit_panel(
    result: AuditResult,
    run_dir: str | os.PathLike[str],
    *,
    image_of: Any,
    map_of: Any = None,
    name: str = "labels",
    per_pair: int = 4,
) -> Path:
    """Write the report's audit panel (``RUN/audit/<name>/``) of an audit.

    Parameters
    ----------
    result
        The audit.
    run_dir
        Run folder whose report shows it.
    image_of, map_of
        Image of an id; map of ``(id, class)`` (None: blank maps).
    name
        Panel name.
    per_pair
        Suspects shown per (given -> suggested) pair, four pairs.

    Returns
    -------
    Path
        The panel folder.

    Raises
    ------
    ParameterError
        A bad panel name.
    """
    from galaxy_xai.audit.figures import select_suspects
    from galaxy_xai.report.artefacts import write_audit

    shown = select_suspects(result.table, per_pair=per_pair, pairs=4)
    ids = [str(i) for i in shown["id"]]
    images = np.stack([image_of(i) for i in ids]) if ids else np.zeros((0, 1, 8, 8), np.float32)
    maps = np.zeros((len(ids), *images.shape[2:]), dtype=np.float32)
    if map_of is not None:
        for k, (ident, cls) in enumerate(zip(ids, shown["suggested_label"], strict=True)):
            m = np.abs(np.asarray(map_of(ident, str(cls)), dtype=np.float32))
            maps[k] = m if m.ndim == 2 else m.sum(0)
    s = result.summary
    return write_audit(
        run_dir, name, suspects=shown, images=images, saliency=maps,
        flagged_share=s["bias"]["flagged_share_by_class"],
        trends={k: v for k, v in s["bias"].items() if k != "flagged_share_by_class"},
        title=f"Label audit of {Path(str(s['data'])).name}",
        description=f"{s['method']}; {s['ranking']}.",
        metrics={"n": s["n"], "n_flagged": s["n_flagged"], "share_flagged": s["share_flagged"],
                 "accuracy_out_of_sample": s["accuracy_out_of_sample"],
                 **{f"flagged_{k}": v for k, v in list(s["flagged_pairs"].items())[:6]}},
    )  # fmt: skip


def _map_function(probs: Probabilities, fold_of: dict[str, int], image_of: Any,
                  n_samples: int) -> Any:  # fmt: skip
    """SmoothGrad map of ``(id, class)`` from the network that predicted the galaxy."""
    from galaxy_xai.explain import attribute
    from galaxy_xai.train import load_trained

    cache: dict[str, Any] = {}

    def map_of(ident: str, cls: str) -> np.ndarray:
        k = int(fold_of[ident])
        path = probs.models[k if k >= 0 else 0]
        if path not in cache:
            cache[path] = load_trained(path)
        image = image_of(ident)[None]
        return np.asarray(attribute(cache[path], image, method="smoothgrad", target=cls,
                                    n_samples=n_samples, seed=0))[0]  # fmt: skip

    return map_of
