"""Likely label errors from out-of-sample probabilities, ranked by confident learning.

Confident learning (Northcutt, Jiang & Chuang 2021, JAIR 70, 1373) estimates the joint
distribution of given and true labels from out-of-sample predicted probabilities and
flags the examples that it counts as off-diagonal. ``cleanlab`` implements it; this
module only turns its output into the audit table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from galaxy_xai.errors import DataFormatError, ParameterError

__all__ = ["ISSUE_COLUMNS", "flag_label_issues", "model_class_columns"]

#: Columns of the audit table (``label_issues.csv``), one row per galaxy, suspects first.
ISSUE_COLUMNS = (
    "id",
    "given_label",
    "suggested_label",
    "self_confidence",
    "suggested_probability",
    "is_label_issue",
    "issue_rank",
)


def model_class_columns(
    output_names: Sequence[str], class_names: Sequence[str], *, where: str
) -> np.ndarray:
    """Column of each label class among a model's outputs.

    Raises
    ------
    DataFormatError
        A label class that is not an output of the model (naming it and the outputs).
    """
    outputs = [str(n) for n in output_names]
    missing = [c for c in class_names if str(c) not in outputs]
    if missing:
        raise DataFormatError(
            f"{where}: label class {missing[0]!r} is not an output of the model "
            f"(outputs: {outputs}); map the labels onto the model's classes (--class-map)"
        )
    return np.array([outputs.index(str(c)) for c in class_names], dtype=np.int64)


def flag_label_issues(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    ids: Sequence[object],
) -> pd.DataFrame:
    """Rank likely label errors with ``cleanlab`` (confident learning).

    Parameters
    ----------
    labels
        ``(N,)`` given class index per galaxy.
    probabilities
        ``(N, K)`` out-of-sample predicted probabilities (rows sum to 1).
    class_names
        ``K`` class names.
    ids
        ``N`` galaxy ids.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ISSUE_COLUMNS`; flagged galaxies first, ranked by
        self-confidence (the predicted probability of the given label, lowest first),
        then the rest by self-confidence.

    Raises
    ------
    ParameterError
        Shapes that do not match, labels outside ``0..K-1``, or probabilities that are
        not finite.
    DataFormatError
        If fewer than two classes occur among ``labels`` (confident learning needs two).
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probabilities, dtype=np.float64)
    k = len(class_names)
    if probs.ndim != 2 or probs.shape != (len(labels), k):
        raise ParameterError("probabilities", probs.shape, f"must be ({len(labels)}, {k})")
    if len(ids) != len(labels):
        raise ParameterError("ids", len(ids), f"need one id per label ({len(labels)})")
    if len(labels) and (labels.min() < 0 or labels.max() >= k):
        j = int(np.flatnonzero((labels < 0) | (labels >= k))[0])
        raise ParameterError("labels", int(labels[j]), f"galaxy {ids[j]!r}: outside 0..{k - 1}")
    if not np.isfinite(probs).all():
        raise ParameterError("probabilities", "non-finite", "must be finite")
    present = np.unique(labels)
    if len(present) < 2:
        raise DataFormatError("the audit needs at least two classes among the given labels")
    probs = probs / probs.sum(axis=1, keepdims=True).clip(1e-12)
    # cleanlab needs every class present; absent classes are kept out of its estimate
    sub = probs[:, present]
    sub = sub / sub.sum(axis=1, keepdims=True).clip(1e-12)
    local = np.searchsorted(present, labels)
    # one process: a pool would fork with the CLI's SIGTERM handler and cost more
    # than it saves on a few thousand galaxies
    issues = find_label_issues(local, sub, filter_by="prune_by_noise_rate", n_jobs=1)
    quality = get_label_quality_scores(local, sub, method="self_confidence")
    suggested = probs.argmax(axis=1)
    names = np.asarray([str(c) for c in class_names], dtype=object)
    table = pd.DataFrame(
        {
            "id": [str(i) for i in ids],
            "given_label": names[labels],
            "suggested_label": names[suggested],
            "self_confidence": quality,
            "suggested_probability": probs[np.arange(len(labels)), suggested],
            "is_label_issue": np.asarray(issues, dtype=bool),
        }
    )
    order = np.lexsort((table["self_confidence"].to_numpy(), ~table["is_label_issue"].to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    rank = np.zeros(len(table), dtype=np.int64)
    flagged = table["is_label_issue"].to_numpy()
    rank[flagged] = np.arange(1, int(flagged.sum()) + 1)
    table["issue_rank"] = rank
    return table[list(ISSUE_COLUMNS)]
