"""Class offsets: the decision rule of a classifier chosen on its validation split.

A classifier trained with class weights (``optim.class_weighting``) learns the rare
classes better, but its softmax then over-predicts them: the weights act as a shifted
class prior. Adding one constant per class to the log-probabilities moves the decision
boundaries back without retraining (the "logit adjustment" of Menon et al. 2021, ICLR,
with the offsets chosen on held-out data instead of from the priors). This module
chooses those offsets on a split the network was not trained on (the run's ``val``) and
folds them into the bias of the network's final ``nn.Linear``, so that every use of the
model (``predict``, ``evaluate``, saliency maps of the class outputs) sees the same rule.

Offsets change which class wins and the probabilities' values, not the ranking of
galaxies within one class (each output's logit moves by a constant).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from galaxy_xai.errors import ModelMismatchError, ParameterError
from galaxy_xai.stats import confusion_matrix, f1_scores

__all__ = ["OFFSET_GRID", "apply_class_offsets", "decision_score", "fit_class_offsets"]

#: Candidate offsets (natural log of a probability ratio), per class, of the search.
OFFSET_GRID: tuple[float, ...] = tuple(float(v) for v in np.round(np.arange(-3.0, 1.01, 0.2), 2))
#: Rounds of the coordinate search over classes (it stops earlier when nothing improves).
MAX_ROUNDS = 10
_TINY = 1e-12


def decision_score(truth: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """Accuracy + macro-F1 of class predictions (the quantity the offsets maximise).

    Macro-F1 counts a class absent from both ``truth`` and ``pred`` as F1 = 0, so that a
    rule that never predicts a rare class is not rewarded.
    """
    cm = confusion_matrix(truth, pred, n_classes)
    return float(np.trace(cm) / max(len(truth), 1) + f1_scores(cm).mean())


def fit_class_offsets(
    probs: np.ndarray,
    truth: np.ndarray,
    *,
    grid: Sequence[float] = OFFSET_GRID,
) -> np.ndarray:
    """Per-class log-probability offsets that maximise accuracy + macro-F1 on held-out data.

    A coordinate search: each class's offset in turn (the first class's stays 0, the
    reference) takes the value of ``grid`` that maximises :func:`decision_score`, until a
    round changes nothing (at most :data:`MAX_ROUNDS`). Ties keep the offset closest to
    0, so that data that do not call for a change leave the model as it is.

    Parameters
    ----------
    probs
        ``(N, K)`` class probabilities of galaxies the network was not trained on.
    truth
        ``(N,)`` true class indices in ``0 .. K-1``.
    grid
        Candidate offsets, natural log units (default :data:`OFFSET_GRID`, -3 to 1).

    Returns
    -------
    numpy.ndarray
        ``(K,)`` offsets to add to the log-probabilities (``offsets[0] == 0``).

    Raises
    ------
    ParameterError
        If the shapes disagree, a probability is not finite and >= 0, a class index is
        out of range, or ``grid`` is empty, not finite or lacks 0.
    """
    probs = np.asarray(probs, dtype=float)
    truth = np.asarray(truth)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ParameterError("probs", probs.shape, "must be (N, K) with K >= 2 classes")
    if truth.shape != (len(probs),):
        raise ParameterError("truth", truth.shape, f"must be ({len(probs)},), one class per row")
    if len(probs) == 0:
        raise ParameterError("probs", probs.shape, "must hold at least one galaxy")
    if not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise ParameterError("probs", "non-finite or negative", "must be finite and >= 0")
    k = probs.shape[1]
    if not np.issubdtype(truth.dtype, np.integer) or truth.min() < 0 or truth.max() >= k:
        raise ParameterError("truth", truth.dtype, f"must be class indices in 0..{k - 1}")
    candidates = np.asarray(sorted(grid, key=abs), dtype=float)
    if candidates.size == 0 or not np.all(np.isfinite(candidates)) or 0.0 not in candidates:
        raise ParameterError("grid", list(grid), "must be finite offsets including 0")

    log_p = np.log(probs + _TINY)
    offsets = np.zeros(k)
    best = decision_score(truth, log_p.argmax(1), k)
    for _ in range(MAX_ROUNDS):
        changed = False
        for c in range(1, k):
            trial = offsets.copy()
            for value in candidates:  # closest to 0 first: ties keep the smaller change
                trial[c] = value
                score = decision_score(truth, (log_p + trial).argmax(1), k)
                if score > best + 1e-12:
                    best, offsets[c], changed = score, value, True
        if not changed:
            break
    return offsets


def _output_layer(model: nn.Module, n_outputs: int) -> str:
    """Name of the network's final ``nn.Linear`` (every architecture here ends in one)."""
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ModelMismatchError("the network has no nn.Linear output layer to offset")
    layer = model.get_submodule(linears[-1])
    if not isinstance(layer, nn.Linear) or layer.out_features != n_outputs or layer.bias is None:
        raise ModelMismatchError(
            f"the network's last nn.Linear '{linears[-1]}' does not give the {n_outputs} "
            "class outputs with a bias"
        )
    return linears[-1]


def apply_class_offsets(
    run_dir: str | os.PathLike[str],
    offsets: Sequence[float] | np.ndarray,
    out_dir: str | os.PathLike[str],
    *,
    chosen_on: str = "val",
) -> Path:
    """Write a copy of a classification run whose final layer's bias includes ``offsets``.

    The copy keeps the run's ``config.yaml`` and ``split.json`` (so that ``evaluate``
    scores the same test split) and records the offsets in ``model.json``
    (``class_offsets``: class name -> offset, and ``class_offsets_chosen_on``).

    Parameters
    ----------
    run_dir
        A finished classification run folder (or its ``model.json``).
    offsets
        ``(K,)`` offsets, one per class output (see :func:`fit_class_offsets`).
    out_dir
        The new run folder (created; its model files are written atomically).
    chosen_on
        The split the offsets were chosen on, recorded with them.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    ModelMismatchError
        If the run is not a classifier or its last linear layer does not give the
        class outputs.
    ParameterError
        If ``offsets`` is not ``(K,)`` and finite.
    """
    import torch

    from galaxy_xai.models.files import read_model, write_model
    from galaxy_xai.train.io import load_trained

    trained = load_trained(run_dir)
    if trained.task != "classification":
        raise ModelMismatchError(
            f"model '{trained.path}' is a {trained.task} model; class offsets need a classifier"
        )
    k = len(trained.output_names)
    values = np.asarray(offsets, dtype=float)
    if values.shape != (k,) or not np.all(np.isfinite(values)):
        raise ParameterError(
            "offsets", values.tolist(), f"must be {k} finite numbers, one per class"
        )
    layer = _output_layer(trained.model, k)
    model_file = read_model(run_dir)
    state = dict(model_file.state)
    key = f"{layer}.bias"
    state[key] = state[key] + torch.as_tensor(values, dtype=state[key].dtype)
    dropped = ("format", "format_version", "weights", "weights_sha256")
    info: dict[str, Any] = {k_: v for k_, v in model_file.info.items() if k_ not in dropped}
    info["class_offsets"] = {
        n: round(float(v), 6) for n, v in zip(trained.output_names, values, strict=True)
    }
    info["class_offsets_chosen_on"] = chosen_on
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.yaml", "split.json"):
        source = model_file.run_dir / name
        if source.is_file():
            shutil.copyfile(source, out / name)
    write_model(out, state, json.loads(json.dumps(info)))
    return out
