"""Label curation: GaMorNet classes from bulge-to-total, Galaxy Zoo decision-tree helpers.

Galaxy Zoo 2 vote tables come in three spellings, all understood here:

- Willett et al. (2013) and Hart et al. (2016): per answer
  ``t01_smooth_or_features_a01_smooth_fraction``, ``..._weighted_fraction`` and
  ``..._debiased`` - fractions of the votes *for that question*;
- the Kaggle challenge: ``Class1.1`` ... ``Class11.6`` - *cumulative* fractions
  (each answer multiplied by the fractions of the answers leading to its question),
  converted back to per-question fractions by :func:`answer_fractions`.

:func:`gz2_nine_class` gives the nine classes of Guan et al. (2023) with confidence =
product of the vote fractions along the decision path; :func:`most_confident_per_class`
and :func:`balanced_subset` pick high-confidence, class-balanced sets.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from galaxy_xai.errors import DataFormatError, ParameterError

__all__ = [
    "GAMORNET_CLASS_NAMES",
    "GZ2_NINE_CLASS_NAMES",
    "GZ2_TASKS",
    "GZ2_TASK_PARENT",
    "answer_fractions",
    "balanced_subset",
    "detect_vote_kind",
    "gamornet_labels",
    "gz2_nine_class",
    "majority_answers",
    "most_confident_per_class",
]

log = logging.getLogger(__name__)

#: GaMorNet's three classes, in the order of the integer labels returned by
#: :func:`gamornet_labels` (Ghosh et al. 2020, ApJ 895, 112, section 2).
GAMORNET_CLASS_NAMES = ("disk-dominated", "indeterminate", "bulge-dominated")


def gamornet_labels(
    bulge_to_total: ArrayLike,
    *,
    disk_max: float = 0.45,
    bulge_min: float = 0.55,
) -> np.ndarray:
    """GaMorNet class per galaxy from its bulge-to-total flux ratio.

    Parameters
    ----------
    bulge_to_total
        B/T flux ratio per galaxy, in [0, 1].
    disk_max
        B/T below this is disk-dominated (Ghosh et al. 2020: 0.45).
    bulge_min
        B/T above this is bulge-dominated (Ghosh et al. 2020: 0.55); in between is
        indeterminate.

    Returns
    -------
    numpy.ndarray
        int64 labels: 0 disk-dominated, 1 indeterminate, 2 bulge-dominated
        (see :data:`GAMORNET_CLASS_NAMES`).

    Raises
    ------
    ParameterError
        If the thresholds are not ``0 <= disk_max <= bulge_min <= 1`` or a B/T value is
        outside [0, 1] or NaN.
    """
    if not 0.0 <= disk_max <= bulge_min <= 1.0:
        raise ParameterError(
            "disk_max/bulge_min", (disk_max, bulge_min), "need 0 <= disk_max <= bulge_min <= 1"
        )
    bt = np.asarray(bulge_to_total, dtype=np.float64)
    bad = ~((bt >= 0.0) & (bt <= 1.0))
    if np.any(bad):
        i = int(np.flatnonzero(bad.ravel())[0])
        raise ParameterError(
            "bulge_to_total", float(bt.ravel()[i]), f"at index {i} must lie in [0, 1]"
        )
    labels = np.ones(bt.shape, dtype=np.int64)
    labels[bt < disk_max] = 0
    labels[bt > bulge_min] = 2
    return labels


# --------------------------------------------------------------------------- Galaxy Zoo 2
#: GZ2 decision tree (Willett et al. 2013, table 2): question -> its answers, spelt as
#: in the public tables (column = ``<question>_<answer>_<kind>``).
GZ2_TASKS: dict[str, tuple[str, ...]] = {
    "t01_smooth_or_features": ("a01_smooth", "a02_features_or_disk", "a03_star_or_artifact"),
    "t02_edgeon": ("a04_yes", "a05_no"),
    "t03_bar": ("a06_bar", "a07_no_bar"),
    "t04_spiral": ("a08_spiral", "a09_no_spiral"),
    "t05_bulge_prominence": ("a10_no_bulge", "a11_just_noticeable", "a12_obvious", "a13_dominant"),
    "t06_odd": ("a14_yes", "a15_no"),
    "t07_rounded": ("a16_completely_round", "a17_in_between", "a18_cigar_shaped"),
    "t08_odd_feature": (
        "a19_ring",
        "a20_lens_or_arc",
        "a21_disturbed",
        "a22_irregular",
        "a23_other",
        "a24_merger",
        "a38_dust_lane",
    ),
    "t09_bulge_shape": ("a25_rounded", "a26_boxy", "a27_no_bulge"),
    "t10_arms_winding": ("a28_tight", "a29_medium", "a30_loose"),
    "t11_arms_number": ("a31_1", "a32_2", "a33_3", "a34_4", "a36_more_than_4", "a37_cant_tell"),
}
#: The answer that leads to each question (None: asked of every galaxy).
GZ2_TASK_PARENT: dict[str, str | None] = {
    "t01_smooth_or_features": None,
    "t02_edgeon": "t01_smooth_or_features_a02_features_or_disk",
    "t03_bar": "t02_edgeon_a05_no",
    "t04_spiral": "t02_edgeon_a05_no",
    "t05_bulge_prominence": "t02_edgeon_a05_no",
    "t06_odd": None,
    "t07_rounded": "t01_smooth_or_features_a01_smooth",
    "t08_odd_feature": "t06_odd_a14_yes",
    "t09_bulge_shape": "t02_edgeon_a04_yes",
    "t10_arms_winding": "t04_spiral_a08_spiral",
    "t11_arms_number": "t04_spiral_a08_spiral",
}
_VOTE_KINDS = ("debiased", "fraction", "weighted_fraction", "kaggle")

#: Guan et al. (2023) nine GZ2 classes, in label order.
GZ2_NINE_CLASS_NAMES = (
    "smooth, completely round",
    "smooth, in-between",
    "smooth, cigar-shaped",
    "edge-on, bulge",
    "edge-on, no bulge",
    "barred spiral",
    "barred, no spiral",
    "unbarred spiral",
    "unbarred, no spiral",
)
# Each class: answers whose fractions multiply along its path (a tuple inside means
# "sum of these answers", e.g. rounded or boxy bulge).
_NINE_CLASS_PATHS: tuple[tuple[object, ...], ...] = (
    ("t01_smooth_or_features_a01_smooth", "t07_rounded_a16_completely_round"),
    ("t01_smooth_or_features_a01_smooth", "t07_rounded_a17_in_between"),
    ("t01_smooth_or_features_a01_smooth", "t07_rounded_a18_cigar_shaped"),
    (
        "t01_smooth_or_features_a02_features_or_disk",
        "t02_edgeon_a04_yes",
        ("t09_bulge_shape_a25_rounded", "t09_bulge_shape_a26_boxy"),
    ),
    (
        "t01_smooth_or_features_a02_features_or_disk",
        "t02_edgeon_a04_yes",
        "t09_bulge_shape_a27_no_bulge",
    ),
    (
        "t01_smooth_or_features_a02_features_or_disk",
        "t02_edgeon_a05_no",
        "t03_bar_a06_bar",
        "t04_spiral_a08_spiral",
    ),
    (
        "t01_smooth_or_features_a02_features_or_disk",
        "t02_edgeon_a05_no",
        "t03_bar_a06_bar",
        "t04_spiral_a09_no_spiral",
    ),
    (
        "t01_smooth_or_features_a02_features_or_disk",
        "t02_edgeon_a05_no",
        "t03_bar_a07_no_bar",
        "t04_spiral_a08_spiral",
    ),
    (
        "t01_smooth_or_features_a02_features_or_disk",
        "t02_edgeon_a05_no",
        "t03_bar_a07_no_bar",
        "t04_spiral_a09_no_spiral",
    ),
)


def _answers() -> list[str]:
    return [f"{task}_{answer}" for task, answers in GZ2_TASKS.items() for answer in answers]


def _kaggle_columns() -> dict[str, str]:
    """Answer stem -> Kaggle column (``Class<task>.<answer>``), in tree order."""
    out = {}
    for t, (task, answers) in enumerate(GZ2_TASKS.items(), start=1):
        for a, answer in enumerate(answers, start=1):
            out[f"{task}_{answer}"] = f"Class{t}.{a}"
    return out


def detect_vote_kind(df: pd.DataFrame, *, tasks: tuple[str, ...] = tuple(GZ2_TASKS)) -> str:
    """The best vote-fraction spelling present for ``tasks``.

    Preference: ``debiased`` (Willett/Hart), ``fraction``, ``weighted_fraction``,
    ``kaggle`` (``Class1.1``...).

    Raises
    ------
    DataFormatError
        If no spelling has every answer of ``tasks`` (message lists what was found).
    """
    for kind in _VOTE_KINDS:
        if all(c in df.columns for c in _columns_for(kind, tasks)):
            return kind
    found = ", ".join(map(str, df.columns[:12])) + (" ..." if len(df.columns) > 12 else "")
    raise DataFormatError(
        f"no Galaxy Zoo 2 vote-fraction columns for {', '.join(tasks)} "
        f"(expected e.g. 't01_smooth_or_features_a01_smooth_debiased', '..._fraction' or "
        f"'Class1.1'; found: {found})"
    )


def _columns_for(kind: str, tasks: tuple[str, ...]) -> list[str]:
    stems = [f"{t}_{a}" for t in tasks for a in GZ2_TASKS[t]]
    if kind == "kaggle":
        mapping = _kaggle_columns()
        return [mapping[s] for s in stems]
    return [f"{s}_{kind}" for s in stems]


def answer_fractions(
    df: pd.DataFrame, *, kind: str = "auto", tasks: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Per-question vote fractions under canonical answer names.

    Parameters
    ----------
    df
        A GZ2 table (Willett, Hart16 or Kaggle spelling).
    kind
        ``auto`` (see :func:`detect_vote_kind`), ``debiased``, ``fraction``,
        ``weighted_fraction`` or ``kaggle``.
    tasks
        Questions to return (default all eleven).

    Returns
    -------
    pandas.DataFrame
        Same index as ``df``; one column per answer, e.g.
        ``t01_smooth_or_features_a01_smooth``, values in [0, 1] (NaN read as 0).
        Kaggle's cumulative values are divided by their question's total, so every
        spelling gives fractions of the votes for that question.

    Raises
    ------
    ParameterError
        On an unknown ``kind`` or task.
    DataFormatError
        If a needed column is missing.
    """
    tasks = tuple(GZ2_TASKS) if tasks is None else tuple(tasks)
    unknown = [t for t in tasks if t not in GZ2_TASKS]
    if unknown:
        raise ParameterError(
            "tasks", unknown, f"unknown GZ2 question(s); valid: {', '.join(GZ2_TASKS)}"
        )
    if kind == "auto":
        kind = detect_vote_kind(df, tasks=tasks)
    elif kind not in _VOTE_KINDS:
        raise ParameterError("kind", kind, f"must be 'auto' or one of {', '.join(_VOTE_KINDS)}")
    columns = _columns_for(kind, tasks)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        found = ", ".join(map(str, df.columns[:12])) + (" ..." if len(df.columns) > 12 else "")
        raise DataFormatError(
            f"vote table has no column(s) {', '.join(map(repr, missing[:5]))}"
            f"{' ...' if len(missing) > 5 else ''} (found: {found})"
        )
    stems = [f"{t}_{a}" for t in tasks for a in GZ2_TASKS[t]]
    values = df[columns].apply(pd.to_numeric, errors="coerce").fillna(0.0).to_numpy(np.float64)
    out = pd.DataFrame(values, index=df.index, columns=stems)
    if kind == "kaggle":
        for task in tasks:
            cols = [f"{task}_{a}" for a in GZ2_TASKS[task]]
            total = out[cols].sum(axis=1).to_numpy()
            block = out[cols].to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                out[cols] = np.where(total[:, None] > 0, block / total[:, None], 0.0)
    return out


def majority_answers(df: pd.DataFrame, *, kind: str = "auto") -> pd.DataFrame:
    """Vote fractions to answers: the plurality answer of each question reached.

    Follows the tree from the root taking the plurality answer (as the ``gz2_class``
    strings of Willett et al. 2013 do); questions off that path are empty.

    Returns
    -------
    pandas.DataFrame
        One column per question (e.g. ``t01_smooth_or_features``) holding the answer
        name without its number (``smooth``, ``features_or_disk``...) or ``""``.
    """
    frac = answer_fractions(df, kind=kind)
    winners: dict[str, np.ndarray] = {}
    chosen: dict[str, np.ndarray] = {}  # answer stem -> bool per row
    for task, answers in GZ2_TASKS.items():
        cols = [f"{task}_{a}" for a in answers]
        best = frac[cols].to_numpy().argmax(axis=1)
        parent = GZ2_TASK_PARENT[task]
        reached = np.ones(len(df), dtype=bool) if parent is None else chosen[parent]
        names = np.array([a.split("_", 1)[1] for a in answers], dtype=object)
        winners[task] = np.where(reached, names[best], "")
        for k, col in enumerate(cols):
            chosen[col] = reached & (best == k)
    return pd.DataFrame(winners, index=df.index)


def gz2_nine_class(
    df: pd.DataFrame, *, kind: str = "auto", probabilities: bool = False
) -> pd.DataFrame:
    """The nine GZ2 classes of Guan et al. (2023) with their confidence.

    Classes (:data:`GZ2_NINE_CLASS_NAMES`): smooth and completely round / in-between /
    cigar-shaped (t07); edge-on (t02 yes) with a bulge (t09 rounded or boxy) / with no
    bulge; not edge-on, barred or not (t03) x spiral or not (t04). A class's
    probability is the product of the vote fractions along its path, e.g. barred
    spiral = f(features) f(not edge-on) f(bar) f(spiral); each galaxy gets the class
    of highest probability and that probability as its confidence.

    Parameters
    ----------
    df
        A GZ2 table in Willett/Hart (``..._debiased``/``..._fraction``) or Kaggle
        (``Class1.1``...) spelling.
    kind
        Which fractions to use (see :func:`answer_fractions`); ``auto`` prefers
        debiased.
    probabilities
        Also return the nine path probabilities (``p_class0`` ... ``p_class8``).

    Returns
    -------
    pandas.DataFrame
        Same index as ``df``: ``label`` (int 0..8), ``class_name``, ``confidence``
        (in [0, 1]).
    """
    tasks = (
        "t01_smooth_or_features",
        "t02_edgeon",
        "t03_bar",
        "t04_spiral",
        "t07_rounded",
        "t09_bulge_shape",
    )
    frac = answer_fractions(df, kind=kind, tasks=tasks)
    probs = np.ones((len(df), len(_NINE_CLASS_PATHS)), dtype=np.float64)
    for k, path in enumerate(_NINE_CLASS_PATHS):
        for step in path:
            cols = list(step) if isinstance(step, tuple) else [step]
            probs[:, k] *= frac[cols].to_numpy().sum(axis=1)
    label = probs.argmax(axis=1)
    out = pd.DataFrame(
        {
            "label": label.astype(np.int64),
            "class_name": np.asarray(GZ2_NINE_CLASS_NAMES, dtype=object)[label],
            "confidence": np.clip(probs[np.arange(len(df)), label], 0.0, 1.0),
        },
        index=df.index,
    )
    if probabilities:
        for k in range(probs.shape[1]):
            out[f"p_class{k}"] = probs[:, k]
    return out


def most_confident_per_class(
    df: pd.DataFrame,
    n: int,
    *,
    class_column: str = "label",
    confidence_column: str = "confidence",
    min_confidence: float = 0.0,
) -> pd.DataFrame:
    """The ``n`` most confident rows of each class (fewer where a class is small).

    Returns the selected rows of ``df`` ordered by class, then by decreasing
    confidence (ties broken by row order, so the result is deterministic).

    Raises
    ------
    ParameterError
        If ``n < 1`` or ``min_confidence`` is outside [0, 1].
    DataFormatError
        If a column is missing.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ParameterError("n", n, "must be an integer >= 1")
    if not 0.0 <= min_confidence <= 1.0:
        raise ParameterError("min_confidence", min_confidence, "must lie in [0, 1]")
    missing = [c for c in (class_column, confidence_column) if c not in df.columns]
    if missing:
        raise DataFormatError(
            f"table has no column(s) {missing} (found: {', '.join(map(str, df.columns))})"
        )
    pool = df[df[confidence_column] >= min_confidence]
    ordered = pool.assign(_row=np.arange(len(pool))).sort_values(
        [class_column, confidence_column, "_row"], ascending=[True, False, True], kind="stable"
    )
    picked = ordered.groupby(class_column, sort=True).head(n).drop(columns="_row")
    small = picked[class_column].value_counts()
    small = small[small < n]
    if len(small):
        log.warning("classes with fewer than %d rows: %s", n, small.to_dict())
    return picked


def balanced_subset(
    df: pd.DataFrame,
    *,
    class_column: str = "label",
    confidence_column: str = "confidence",
    min_confidence: float = 0.0,
    n_per_class: int | None = None,
    classes: list[int] | None = None,
) -> pd.DataFrame:
    """A high-confidence, class-balanced subset: the same number from every class.

    Keeps rows with ``confidence >= min_confidence`` (of ``classes`` if given) and
    takes the most confident ``n_per_class`` of each class; by default
    ``n_per_class`` is the size of the smallest class left, so every class has
    exactly as many rows.

    Raises
    ------
    ParameterError
        If a requested class has fewer than ``n_per_class`` (or no) rows above the
        confidence cut.
    """
    pool = df[df[confidence_column] >= min_confidence]
    if classes is not None:
        pool = pool[pool[class_column].isin(classes)]
    counts = pool[class_column].value_counts()
    wanted = sorted(classes) if classes is not None else sorted(counts.index)
    short = {c: int(counts.get(c, 0)) for c in wanted if counts.get(c, 0) == 0}
    if short:
        raise ParameterError("min_confidence", min_confidence, f"leaves class(es) {short} empty")
    n = int(min(counts[c] for c in wanted)) if n_per_class is None else int(n_per_class)
    short = {c: int(counts[c]) for c in wanted if counts[c] < n}
    if short:
        raise ParameterError("n_per_class", n, f"class(es) have fewer rows above the cut: {short}")
    return most_confident_per_class(
        pool, n, class_column=class_column, confidence_column=confidence_column
    )
