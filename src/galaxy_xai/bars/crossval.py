"""Which calibration grid generalises best: k-fold cross-validation inside the calibration split.

A larger grid (more criteria, variants, smoothings) fits a few hundred calibration
galaxies more closely and can generalise worse than the paper's small one
(:data:`galaxy_xai.bars.calibrate.PAPER_GRID`). :func:`choose_grid` settles it on the
calibration split alone (never the test set): each fold is measured with the settings
calibrated on the other folds, and the grids are compared by the score of all
held-out lengths (:func:`held_out_score`). The winner is then calibrated on the whole
split as usual (``galaxy-xai bars calibrate --cv-folds K``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from galaxy_xai.bars.calibrate import CalibrationGrid, _score, calibrate
from galaxy_xai.bars.measure import BarParams, measure_bars
from galaxy_xai.errors import ParameterError

__all__ = [
    "GridChoice",
    "calibrate_and_measure",
    "choose_grid",
    "fold_labels",
    "held_out_lengths",
    "held_out_score",
    "image_only_lengths",
]

Objective = Literal["rmse", "pearson"]
#: Decimals of the held-out scores (as reported; the choice is made on these).
SCORE_DECIMALS = 4


@dataclasses.dataclass(frozen=True)
class GridChoice:
    """The grid chosen by :func:`choose_grid` and the held-out score of every grid.

    Attributes
    ----------
    name
        Name of the chosen grid (a key of the ``grids`` given).
    grid
        The chosen grid.
    held_out
        Held-out score per grid name: Pearson r (objective ``"pearson"``, higher is
        better) or RMSE in pixels (objective ``"rmse"``, lower is better).
    metric
        ``"pearson_r"`` or ``"rmse_px"``: what ``held_out`` holds.
    folds, seed
        The cross-validation used.
    """

    name: str
    grid: CalibrationGrid
    held_out: dict[str, float]
    metric: str
    folds: int
    seed: int


def calibrate_and_measure(
    cal_maps: np.ndarray,
    cal_truth_px: np.ndarray | Sequence[float],
    maps: np.ndarray,
    *,
    cal_images: np.ndarray | None = None,
    images: np.ndarray | None = None,
    grid: CalibrationGrid | None = None,
    objective: Objective = "rmse",
    base: BarParams | None = None,
) -> np.ndarray:
    """Calibrate on ``cal_maps`` (true lengths ``cal_truth_px``), then measure ``maps``.

    Returns
    -------
    numpy.ndarray
        Bar lengths of ``maps``, pixels (NaN where nothing was measured).

    Raises
    ------
    ParameterError, DataFormatError
        As :func:`galaxy_xai.bars.calibrate.calibrate` and
        :func:`galaxy_xai.bars.measure.measure_bars`.
    """
    fit = calibrate(
        cal_maps, cal_truth_px, images=cal_images, grid=grid, objective=objective, base=base
    )
    return measure_bars(maps, images, params=fit.params)["bar_length_px"].to_numpy()


def image_only_lengths(
    cal_images: np.ndarray,
    cal_truth_px: np.ndarray | Sequence[float],
    images: np.ndarray,
    *,
    grid: CalibrationGrid | None = None,
    objective: Objective = "rmse",
) -> np.ndarray:
    """The no-saliency control: bar lengths measured on a constant map times the image.

    Calibrated as :func:`calibrate_and_measure` calibrates a saliency map (same grid,
    objective and calibration galaxies), with ``multiply`` fixed to True, so the pixels
    it keeps are the galaxy's brightest. A saliency map that does not beat this adds
    nothing to the galaxy's light distribution.

    Returns
    -------
    numpy.ndarray
        Bar lengths of ``images``, pixels (NaN where nothing was measured).

    Raises
    ------
    ParameterError, DataFormatError
        As :func:`calibrate_and_measure`.
    """

    def constant(stack: np.ndarray) -> np.ndarray:
        return np.ones((len(stack), *np.shape(stack)[-2:]), np.float32)

    grid = dataclasses.replace(grid or CalibrationGrid(), multiply=(True,))
    return calibrate_and_measure(
        constant(cal_images), cal_truth_px, constant(images), cal_images=cal_images,
        images=images, grid=grid, objective=objective,
    )  # fmt: skip


def fold_labels(n: int, folds: int, *, seed: int = 0) -> np.ndarray:
    """The fold (0 .. ``folds`` - 1) of each of ``n`` galaxies: a seeded shuffle, dealt
    round-robin, so the folds differ in size by at most one.

    Raises
    ------
    ParameterError
        If ``folds`` is below 2 or above ``n``.
    """
    if isinstance(folds, bool) or not isinstance(folds, int | np.integer) or folds < 2:
        raise ParameterError("folds", folds, "must be an integer >= 2")
    if folds > n:
        raise ParameterError("folds", folds, f"must not exceed the number of galaxies ({n})")
    return np.random.default_rng(seed).permutation(n) % folds


def held_out_lengths(
    maps: np.ndarray,
    truth_px: np.ndarray | Sequence[float],
    *,
    images: np.ndarray | None = None,
    grid: CalibrationGrid | None = None,
    folds: int = 5,
    seed: int = 0,
    objective: Objective = "rmse",
    base: BarParams | None = None,
) -> np.ndarray:
    """Each galaxy's bar length (pixels) measured with the settings calibrated on the
    other folds (:func:`fold_labels`); NaN where nothing was measured.

    Raises
    ------
    ParameterError, DataFormatError
        On a bad ``folds``, or as :func:`calibrate_and_measure` (e.g. a fold leaving
        fewer than 3 calibration galaxies).
    """
    maps = np.asarray(maps)
    truth = np.asarray(truth_px, dtype=np.float64)
    if len(truth) != len(maps):
        raise ParameterError("truth_px", len(truth), f"needs one true length per map ({len(maps)})")
    fold_of = fold_labels(len(maps), folds, seed=seed)
    pred = np.full(len(maps), np.nan)
    for k in range(folds):
        fit, held = fold_of != k, fold_of == k
        pred[held] = calibrate_and_measure(
            maps[fit], truth[fit], maps[held],
            cal_images=None if images is None else images[fit],
            images=None if images is None else images[held],
            grid=grid, objective=objective, base=base,
        )  # fmt: skip
    return pred


def held_out_score(pred_px: np.ndarray, truth_px: np.ndarray, objective: Objective) -> float:
    """The held-out score of the lengths, to :data:`SCORE_DECIMALS` decimals.

    ``"pearson"``: Pearson r of the measured galaxies (NaN with fewer than 3);
    ``"rmse"``: RMSE in pixels, an unmeasured galaxy counting as a length of 0, as in
    the calibration's own objective.

    Raises
    ------
    ParameterError
        On an unknown objective.
    """
    pred = np.asarray(pred_px, dtype=np.float64)
    truth = np.asarray(truth_px, dtype=np.float64)
    if objective == "rmse":
        return round(_score(pred, truth, "rmse"), SCORE_DECIMALS)
    if objective != "pearson":
        raise ParameterError("objective", objective, "must be 'rmse' or 'pearson'")
    ok = np.isfinite(pred)
    if ok.sum() < 3:
        return float("nan")
    return round(float(np.corrcoef(pred[ok], truth[ok])[0, 1]), SCORE_DECIMALS)


def choose_grid(
    maps: np.ndarray,
    truth_px: np.ndarray | Sequence[float],
    grids: Mapping[str, CalibrationGrid],
    *,
    images: np.ndarray | None = None,
    folds: int = 5,
    seed: int = 0,
    objective: Objective = "rmse",
    base: BarParams | None = None,
) -> GridChoice:
    """The grid whose calibration predicts held-out calibration galaxies best.

    Every grid is cross-validated on the same folds (:func:`held_out_lengths`) and
    scored by :func:`held_out_score`; ties (and grids whose score is NaN) go to the
    grid named first.

    Parameters
    ----------
    maps, truth_px, images
        The calibration split, as for :func:`galaxy_xai.bars.calibrate.calibrate`.
    grids
        Name -> grid, e.g. ``{"full": CalibrationGrid(), "paper": PAPER_GRID}``.
    folds, seed
        Number of folds and the seed of their shuffle.
    objective
        What each fold's calibration minimises, and what the held-out lengths are
        scored by.
    base
        Settings not searched (as for ``calibrate``).

    Returns
    -------
    GridChoice

    Raises
    ------
    ParameterError, DataFormatError
        On no grids, a bad ``folds`` or objective, or as :func:`held_out_lengths`.
    """
    if not grids:
        raise ParameterError("grids", dict(grids), "needs at least one grid")
    if objective not in ("rmse", "pearson"):
        raise ParameterError("objective", objective, "must be 'rmse' or 'pearson'")
    truth = np.asarray(truth_px, dtype=np.float64)
    held_out = {}
    for name, grid in grids.items():
        pred = held_out_lengths(maps, truth, images=images, grid=grid, folds=folds, seed=seed,
                                objective=objective, base=base)  # fmt: skip
        held_out[name] = held_out_score(pred, truth, objective)
    sign = 1.0 if objective == "pearson" else -1.0
    best = next(iter(grids))
    for name, score in held_out.items():
        if np.isfinite(score) and not sign * score <= sign * held_out[best]:
            best = name
    return GridChoice(
        name=best,
        grid=grids[best],
        held_out=held_out,
        metric="pearson_r" if objective == "pearson" else "rmse_px",
        folds=int(folds),
        seed=int(seed),
    )
