"""The run-folder layout the report reads: writers for each stage and their readers.

A run folder (``galaxy-xai demo --out RUN`` writes one; any script may) holds one
sub-folder per report section, and inside it one folder per *panel* (a named result,
e.g. ``simulated`` and ``galaxy-builder`` bar evaluations side by side)::

    RUN/run.json                                   title, config, versions, provenance,
                                                   stage timings
    RUN/gallery/<panel>/gallery.npz                images (N, C, H, W), saliency (N, H, W)
    RUN/gallery/<panel>/gallery.csv                id, caption, bar_length_px,
                                                   bar_angle_deg, centre_x_px, centre_y_px,
                                                   true_bar_length_px, true_bar_angle_deg
    RUN/bars/<panel>/measurements.csv              id, true_bar_length_px,
                                                   measured_bar_length_px[, _err_px]
    RUN/classification/<panel>/predictions.csv     id, label, pred, p_<class>...,
                                                   [uncertainty]
    RUN/training/<panel>/metrics.csv               one row per epoch (Lightning CSV log)
    RUN/sanity/<panel>/sanity.json                 {method: {check: score}}
    RUN/distillation/<panel>/prototypes.npz        images (K, C, H, W), labels (K,)
    RUN/<section>/<panel>/summary.json             title, description, metrics, extras

Geometry conventions (gallery and bars): pixel coordinates with the origin at the
centre of the lower-left pixel (``x`` = column, ``y`` = row, image shown with
``origin="lower"``); ``bar_length_px`` is the *full* (end-to-end) bar length;
``bar_angle_deg`` is measured counter-clockwise from the +x axis. NaN means "not
measured" or "no bar".

Every writer goes through :func:`galaxy_xai.io.atomic_output`, so a half-written panel
never looks finished; every reader raises :class:`~galaxy_xai.errors.DataMissingError`
or :class:`~galaxy_xai.errors.DataFormatError` naming the file, which the report turns
into a "missing" notice for that panel instead of crashing.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.data.readers.base import (
    integer_column,
    numeric_column,
    read_table,
    require_columns,
)
from galaxy_xai.errors import DataFormatError, DataMissingError, ParameterError
from galaxy_xai.io import atomic_output, check_json_fields, read_json, write_json

__all__ = [
    "AUDIT_PANEL_COLUMNS",
    "FEATURE_PANEL_COLUMNS",
    "RUN_INFO",
    "SECTIONS",
    "AuditPanel",
    "BarPanel",
    "ClassificationPanel",
    "FeaturesPanel",
    "GalleryPanel",
    "ModelCardPanel",
    "PrototypePanel",
    "RealismPanel",
    "SanityPanel",
    "TrainingPanel",
    "collect_versions",
    "list_panels",
    "read_audit",
    "read_bars",
    "read_classification",
    "read_features",
    "read_gallery",
    "read_model_card",
    "read_prototypes",
    "read_realism",
    "read_run_info",
    "read_sanity",
    "read_training",
    "write_audit",
    "write_bars",
    "write_classification",
    "write_features",
    "write_gallery",
    "write_model_card",
    "write_prototypes",
    "write_realism",
    "write_run_info",
    "write_sanity",
    "write_training",
]

RUN_INFO = "run.json"
# Report sections that hold panels, in report order.
SECTIONS = (
    "gallery", "bars", "classification", "training", "sanity", "distillation", "realism",
    "models", "features", "audit",
)  # fmt: skip
# Packages whose versions every run records.
VERSION_PACKAGES = ("galaxy-xai", "torch", "galsim", "captum", "lightning", "numpy", "astropy")
_PANEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SUMMARY = "summary.json"
# Columns of the panel tables that must hold numbers (the figures plot them).
_GALLERY_NUMBERS = (
    "bar_length_px", "bar_angle_deg", "centre_x_px", "centre_y_px", "true_bar_length_px",
    "true_bar_angle_deg",
)  # fmt: skip
_BAR_NUMBERS = ("true_bar_length_px", "measured_bar_length_px", "measured_bar_length_err_px")


# --------------------------------------------------------------------------- helpers
def _panel_dir(run_dir: str | os.PathLike[str], section: str, name: str) -> Path:
    if section not in SECTIONS:
        raise ParameterError("section", section, f"must be one of {', '.join(SECTIONS)}")
    if not _PANEL_NAME.match(name):
        raise ParameterError(
            "name", name, "panel names use letters, digits, '_', '.', '-' (no spaces or '/')"
        )
    folder = Path(run_dir) / section / name
    return _inside_run(folder, Path(run_dir)) if folder.exists() else folder


def _write_summary(folder: Path, title: str, description: str, **extra: Any) -> None:
    write_json(folder / _SUMMARY, {"title": title, "description": description, **extra})


def _write_csv(path: Path, table: pd.DataFrame) -> None:
    with atomic_output(path) as tmp:
        table.to_csv(tmp, index=False)


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        # numpy's stub lets ``**arrays`` also fill ``allow_pickle: bool``; all values are arrays.
        np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]


# Types of the fields a panel's summary.json may hold (title and description are text).
_SUMMARY_FIELDS = {
    "title": str, "description": str, "metrics": dict, "details": dict,
    "label_names": list[str], "unit": str,
}  # fmt: skip
# Types of the fields of run.json.
_RUN_INFO_FIELDS = {
    "title": str, "description": str, "created": str, "command": str, "config": dict,
    "versions": dict, "provenance": dict, "stages": list[dict],
}  # fmt: skip


def _inside_run(path: Path, folder: Path | None = None) -> Path:
    """``path``, refused when a link takes it outside ``folder`` (default its own).

    A run folder may come from someone else; the report embeds what it reads, so a
    panel (or a file in it) that is a link to elsewhere on the disk is not read.
    """
    root = (path.parent if folder is None else folder).resolve()
    if not path.resolve().is_relative_to(root):
        raise DataFormatError(
            f"'{path}' is a link to '{path.resolve()}', outside the run folder; "
            "the report reads only files inside it"
        )
    return path


def _read_summary(folder: Path) -> dict[str, Any]:
    path = folder / _SUMMARY
    if not path.is_file():
        return {"title": folder.name, "description": ""}
    data = read_json(_inside_run(path), what="panel summary", fields=_SUMMARY_FIELDS)
    data["title"] = data.get("title") or folder.name
    data["description"] = data.get("description") or ""
    for key in ("metrics", "details"):
        data[key] = data.get(key) or {}
    return data


def _read_csv(path: Path, required: tuple[str, ...], numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    """A panel's CSV, with the ``required`` columns and ``numeric`` ones checked.

    ``numeric`` names columns that must hold numbers where present (empty cells become
    NaN); ``("*",)`` means every column but ``id`` and ``caption``.
    """
    table = read_table(_inside_run(path), what="panel table", dtype={"id": str})
    require_columns(table, required, where=f"'{path}'")
    columns = (
        [c for c in table.columns if c not in ("id", "caption")] if "*" in numeric else numeric
    )
    for column in columns:
        if column in table.columns:
            table[column] = numeric_column(table[column], where=f"'{path}'", column=str(column))
    return table


def _read_npz(path: Path, required: tuple[str, ...]) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataMissingError(f"'{path}' does not exist")
    _inside_run(path)
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataFormatError(f"'{path}' is not a readable .npz file: {exc}") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise DataFormatError(
            f"'{path}' has no array(s) {', '.join(map(repr, missing))} (found: {', '.join(arrays)})"
        )
    for key in required:
        if not np.issubdtype(arrays[key].dtype, np.number):
            raise DataFormatError(f"'{path}' array '{key}' holds {arrays[key].dtype}, not numbers")
    return arrays


def _with_channels(images: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` images as ``(N, 1, H, W)``; any other shape as it is."""
    return images[:, None] if images.ndim == 3 else images


def _label_names(folder: Path, summary: dict[str, Any], *, at_least: int = 0) -> list[str]:
    """The ``label_names`` of a panel's summary, as strings.

    Raises
    ------
    DataFormatError
        If the summary has no such list, or one of fewer than ``at_least`` names.
    """
    names = summary.get("label_names")
    if not isinstance(names, list) or len(names) < at_least:
        raise DataFormatError(f"'{folder / _SUMMARY}' has no 'label_names' list")
    return [str(c) for c in names]


def _as_nchw(images: np.ndarray, name: str) -> np.ndarray:
    images = _with_channels(np.asarray(images, dtype=np.float32))
    if images.ndim != 4:
        raise ParameterError(name, images.shape, "must be (N, C, H, W) or (N, H, W)")
    return images


def list_panels(run_dir: str | os.PathLike[str], section: str) -> list[str]:
    """Names of the panels saved under ``RUN/<section>/``, sorted (empty if none).

    Raises
    ------
    ParameterError
        If ``section`` is not one of :data:`SECTIONS`.
    """
    folder = Path(run_dir) / section
    if section not in SECTIONS:
        raise ParameterError("section", section, f"must be one of {', '.join(SECTIONS)}")
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and _PANEL_NAME.match(p.name))


# --------------------------------------------------------------------------- run info
def collect_versions() -> dict[str, str]:
    """Versions of python and of the packages a run depends on (``"absent"`` if not installed)."""
    versions = {"python": platform.python_version()}
    for name in VERSION_PACKAGES:
        try:
            versions[name] = _metadata.version(name)
        except _metadata.PackageNotFoundError:
            versions[name] = "absent"
    versions["platform"] = platform.platform()
    return versions


def write_run_info(
    run_dir: str | os.PathLike[str],
    *,
    title: str,
    config: dict[str, Any],
    provenance: dict[str, Any],
    stages: list[dict[str, Any]] | None = None,
    versions: dict[str, str] | None = None,
    description: str = "",
) -> Path:
    """Write ``RUN/run.json``: configuration, versions, data provenance and stage timings.

    Parameters
    ----------
    run_dir
        The run folder.
    title
        The report's title.
    config
        The run's resolved configuration (JSON-safe mapping).
    provenance
        Where the data came from: a mapping of data set name to a description (source
        paths, simulation preset and seed, number of galaxies, licence/citation).
    stages
        One mapping per stage (``name``, ``seconds``, ``status``), in run order.
    versions
        Package versions; default :func:`collect_versions`.
    description
        A paragraph on what the run did, shown at the top of the report.
    """
    payload = {
        "title": title,
        "description": description,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "config": config,
        "versions": versions if versions is not None else collect_versions(),
        "provenance": provenance,
        "stages": stages or [],
    }
    return write_json(Path(run_dir) / RUN_INFO, payload)


def read_run_info(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``RUN/run.json``.

    Raises
    ------
    DataMissingError
        If it does not exist.
    DataFormatError
        If it is not a JSON object.
    """
    return read_json(
        _inside_run(Path(run_dir) / RUN_INFO), what="run info", fields=_RUN_INFO_FIELDS
    )


# --------------------------------------------------------------------------- gallery
@dataclass
class GalleryPanel:
    """Galaxies with their saliency maps and measured (and true) bars."""

    name: str
    title: str
    description: str
    images: np.ndarray  # (N, C, H, W)
    saliency: np.ndarray  # (N, H, W)
    table: pd.DataFrame  # one row per galaxy (see module docstring)
    extra: dict[str, Any] = field(default_factory=dict)


def write_gallery(
    run_dir: str | os.PathLike[str],
    name: str,
    *,
    images: np.ndarray,
    saliency: np.ndarray,
    table: pd.DataFrame,
    title: str,
    description: str = "",
) -> Path:
    """Save a gallery panel: images, saliency maps and one table row per galaxy.

    Parameters
    ----------
    images
        ``(N, C, H, W)`` or ``(N, H, W)`` images (any scale; shown min-max stretched).
    saliency
        ``(N, H, W)`` attribution maps (absolute values are shown).
    table
        ``N`` rows with ``id`` and optionally ``caption``, ``bar_length_px`` (full
        length, px), ``bar_angle_deg`` (counter-clockwise from +x), ``centre_x_px``,
        ``centre_y_px`` (default the image centre), ``true_bar_length_px``,
        ``true_bar_angle_deg``.

    Returns
    -------
    Path
        The panel folder.

    Raises
    ------
    ParameterError
        If shapes or row counts disagree or ``id`` is missing.
    """
    folder = _panel_dir(run_dir, "gallery", name)
    images = _as_nchw(images, "images")
    saliency = np.asarray(saliency, dtype=np.float32)
    if saliency.ndim == 4 and saliency.shape[1] == 1:
        saliency = saliency[:, 0]
    if saliency.shape != (images.shape[0], *images.shape[2:]):
        raise ParameterError(
            "saliency",
            saliency.shape,
            f"must be (N, H, W) = {(images.shape[0], *images.shape[2:])}",
        )
    if len(table) != len(images):
        raise ParameterError("table", len(table), f"must have one row per image ({len(images)})")
    if "id" not in table.columns:
        raise ParameterError("table", list(table.columns), "must have an 'id' column")
    _write_npz(folder / "gallery.npz", images=images, saliency=saliency)
    _write_csv(folder / "gallery.csv", table.reset_index(drop=True))
    _write_summary(folder, title, description)
    return folder


def read_gallery(run_dir: str | os.PathLike[str], name: str) -> GalleryPanel:
    """Read a gallery panel written by :func:`write_gallery`.

    Raises
    ------
    ParameterError
        If ``name`` is not a valid panel name (letters, digits, ``_``, ``.``, ``-``).
    DataMissingError
        If the panel has no ``gallery.npz`` or ``gallery.csv``.
    DataFormatError
        If a file is unreadable or a link outside the run folder, ``gallery.npz`` lacks
        ``images`` or ``saliency`` (or they do not match in shape), or ``gallery.csv``
        lacks ``id`` or has another row count than there are images.
    """
    folder = _panel_dir(run_dir, "gallery", name)
    arrays = _read_npz(folder / "gallery.npz", ("images", "saliency"))
    table = _read_csv(folder / "gallery.csv", ("id",), numeric=_GALLERY_NUMBERS)
    images = _with_channels(arrays["images"])
    if images.ndim != 4 or arrays["saliency"].shape != (len(images), *images.shape[2:]):
        raise DataFormatError(
            f"'{folder / 'gallery.npz'}': images {images.shape} and saliency "
            f"{arrays['saliency'].shape} do not match"
        )
    if len(table) != len(images):
        raise DataFormatError(
            f"'{folder / 'gallery.csv'}' has {len(table)} rows for {len(images)} images"
        )
    summary = _read_summary(folder)
    return GalleryPanel(
        name,
        summary.pop("title"),
        summary.pop("description"),
        images,
        arrays["saliency"],
        table,
        summary,
    )


# --------------------------------------------------------------------------- bars
@dataclass
class BarPanel:
    """Measured against true (or reference) bar lengths."""

    name: str
    title: str
    description: str
    table: pd.DataFrame
    metrics: dict[str, Any] = field(default_factory=dict)
    unit: str = "px"


def write_bars(
    run_dir: str | os.PathLike[str],
    name: str,
    *,
    table: pd.DataFrame,
    title: str,
    description: str = "",
    metrics: dict[str, Any] | None = None,
    unit: str = "px",
) -> Path:
    """Save measured vs true bar lengths.

    Parameters
    ----------
    table
        Rows with ``id``, ``true_bar_length_px`` and ``measured_bar_length_px``
        (optionally ``measured_bar_length_err_px``); NaN rows (no measurement) are kept
        and reported as such.
    metrics
        Evaluation figures computed by the bars capability (e.g. Pearson r and RMSE
        with bootstrap intervals); shown beside the ones the report computes.
    unit
        Unit of the lengths, for the axis labels (``"px"`` or ``"arcsec"``).

    Raises
    ------
    ParameterError
        If ``name`` is not a valid panel name, or ``table`` lacks ``id``,
        ``true_bar_length_px`` or ``measured_bar_length_px``.
    """
    folder = _panel_dir(run_dir, "bars", name)
    missing = [
        c for c in ("id", "true_bar_length_px", "measured_bar_length_px") if c not in table.columns
    ]
    if missing:
        raise ParameterError("table", list(table.columns), f"lacks column(s) {missing}")
    _write_csv(folder / "measurements.csv", table.reset_index(drop=True))
    _write_summary(folder, title, description, metrics=metrics or {}, unit=unit)
    return folder


def read_bars(run_dir: str | os.PathLike[str], name: str) -> BarPanel:
    """Read a bar panel written by :func:`write_bars`."""
    folder = _panel_dir(run_dir, "bars", name)
    table = _read_csv(
        folder / "measurements.csv",
        ("id", "true_bar_length_px", "measured_bar_length_px"),
        numeric=_BAR_NUMBERS,
    )
    summary = _read_summary(folder)
    return BarPanel(
        name,
        summary["title"],
        summary["description"],
        table,
        dict(summary.get("metrics") or {}),
        str(summary.get("unit", "px")),
    )


# --------------------------------------------------------------------------- classification
@dataclass
class ClassificationPanel:
    """Predicted class probabilities of a labelled set."""

    name: str
    title: str
    description: str
    table: pd.DataFrame  # id, label, pred, p_<class>..., [uncertainty]
    label_names: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)

    def probabilities(self) -> np.ndarray:
        """``(N, K)`` class probabilities, columns in ``label_names`` order."""
        return self.table[[f"p_{c}" for c in self.label_names]].to_numpy(dtype=np.float64)


def write_classification(
    run_dir: str | os.PathLike[str],
    name: str,
    *,
    table: pd.DataFrame,
    label_names: list[str],
    title: str,
    description: str = "",
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Save predictions of a labelled set.

    Parameters
    ----------
    table
        Rows with ``id``, ``label`` (true class index), ``pred`` (predicted class
        index), one ``p_<class>`` probability column per name in ``label_names`` (MC
        dropout mean) and optionally ``uncertainty`` (e.g. predictive entropy, nats).
    label_names
        Class names, in class-index order.
    metrics
        Extra figures to show (e.g. the train capability's ``evaluate`` output).

    Raises
    ------
    ParameterError
        If ``name`` is not a valid panel name, ``table`` lacks ``id``, ``label``,
        ``pred`` or a ``p_<class>`` column, or ``label_names`` has fewer than two names.
    """
    folder = _panel_dir(run_dir, "classification", name)
    required = ["id", "label", "pred", *[f"p_{c}" for c in label_names]]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise ParameterError("table", list(table.columns), f"lacks column(s) {missing}")
    if len(label_names) < 2:
        raise ParameterError("label_names", label_names, "needs at least two classes")
    _write_csv(folder / "predictions.csv", table.reset_index(drop=True))
    _write_summary(folder, title, description, label_names=list(label_names), metrics=metrics or {})
    return folder


def read_classification(run_dir: str | os.PathLike[str], name: str) -> ClassificationPanel:
    """Read a classification panel written by :func:`write_classification`."""
    folder = _panel_dir(run_dir, "classification", name)
    summary = _read_summary(folder)
    label_names = _label_names(folder, summary, at_least=2)
    table = _read_csv(
        folder / "predictions.csv",
        ("id", "label", "pred", *[f"p_{c}" for c in label_names]),
        numeric=(*[f"p_{c}" for c in label_names], "uncertainty"),
    )
    for column in ("label", "pred"):
        table[column] = integer_column(
            table[column],
            where=f"'{folder / 'predictions.csv'}'",
            column=column,
            maximum=len(label_names) - 1,
        )
    return ClassificationPanel(
        name,
        summary["title"],
        summary["description"],
        table,
        label_names,
        dict(summary.get("metrics") or {}),
    )


# --------------------------------------------------------------------------- training
@dataclass
class TrainingPanel:
    """Per-epoch training metrics."""

    name: str
    title: str
    description: str
    table: pd.DataFrame  # one row per epoch, 'epoch' column first


def write_training(
    run_dir: str | os.PathLike[str],
    name: str,
    *,
    metrics: pd.DataFrame | str | os.PathLike[str],
    title: str,
    description: str = "",
) -> Path:
    """Save a training run's per-epoch metrics (a DataFrame or a ``metrics.csv`` path).

    Lightning's CSV log (one row per logging call, NaN where a metric was not logged)
    is collapsed to one row per ``epoch`` (the last value of each column).
    """
    folder = _panel_dir(run_dir, "training", name)
    if not isinstance(metrics, pd.DataFrame):
        metrics = _read_csv(Path(metrics), ())
    _write_csv(folder / "metrics.csv", _per_epoch(metrics, where="metrics"))
    _write_summary(folder, title, description)
    return folder


def _per_epoch(table: pd.DataFrame, *, where: str) -> pd.DataFrame:
    if "epoch" not in table.columns:
        raise ParameterError(where, list(table.columns), "needs an 'epoch' column")
    numeric = table.select_dtypes("number").drop(columns=["step"], errors="ignore")
    per_epoch = numeric.groupby("epoch", sort=True).last().reset_index()
    return per_epoch.dropna(axis=1, how="all")


def read_training(run_dir: str | os.PathLike[str], name: str) -> TrainingPanel:
    """Read a training panel written by :func:`write_training`."""
    folder = _panel_dir(run_dir, "training", name)
    table = _read_csv(folder / "metrics.csv", ("epoch",), numeric=("*",))
    summary = _read_summary(folder)
    return TrainingPanel(name, summary["title"], summary["description"], table)


# --------------------------------------------------------------------------- sanity
@dataclass
class SanityPanel:
    """Sanity-check scores per attribution method."""

    name: str
    title: str
    description: str
    scores: dict[str, dict[str, float]]  # method -> check -> score
    passed: dict[str, bool] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def write_sanity(
    run_dir: str | os.PathLike[str],
    name: str,
    *,
    scores: dict[str, dict[str, float]],
    title: str,
    description: str = "",
    passed: dict[str, bool] | None = None,
    details: dict[str, Any] | None = None,
) -> Path:
    """Save sanity-check scores per attribution method.

    Parameters
    ----------
    scores
        ``{method: {check: score}}``, e.g. the Spearman rank correlation between the
        map of the trained and of a randomised model (low means the map depends on the
        weights: the method passes).
    passed
        ``{method: bool}``: whether each method passed the checks.
    details
        Anything else to keep (thresholds, the raw output of the explain capability).

    Raises
    ------
    ParameterError
        If ``name`` is not a valid panel name, or ``scores`` is empty.
    """
    folder = _panel_dir(run_dir, "sanity", name)
    if not scores:
        raise ParameterError("scores", scores, "needs at least one method")
    clean = {str(m): {str(k): float(v) for k, v in checks.items()} for m, checks in scores.items()}
    write_json(folder / "sanity.json", {"scores": clean, "passed": passed or {}})
    _write_summary(folder, title, description, details=details or {})
    return folder


def read_sanity(run_dir: str | os.PathLike[str], name: str) -> SanityPanel:
    """Read a sanity panel written by :func:`write_sanity`.

    Raises
    ------
    ParameterError
        If ``name`` is not a valid panel name.
    DataMissingError
        If the panel has no ``sanity.json``.
    DataFormatError
        If ``sanity.json`` is not JSON, is a link outside the run folder, or its
        ``scores`` are not ``{method: {check: number}}``.
    """
    folder = _panel_dir(run_dir, "sanity", name)
    path = _inside_run(folder / "sanity.json")
    data = read_json(
        path, what="sanity scores", fields={"scores": dict[str, dict], "passed": dict[str, bool]},
        required=("scores",),
    )  # fmt: skip
    try:
        scores = {
            str(m): {str(k): float(v) if v is not None else float("nan") for k, v in c.items()}
            for m, c in data["scores"].items()
        }
    except (TypeError, ValueError) as exc:
        raise DataFormatError(
            f"'{path}' must hold {{'scores': {{method: {{check: number}}}}}}: {exc}"
        ) from None
    summary = _read_summary(folder)
    passed = dict(data.get("passed") or {})
    return SanityPanel(
        name,
        summary["title"],
        summary["description"],
        scores,
        passed,
        dict(summary.get("details") or {}),
    )


# --------------------------------------------------------------------------- distillation
@dataclass
class PrototypePanel:
    """Distilled synthetic prototypes per class."""

    name: str
    title: str
    description: str
    images: np.ndarray  # (K, C, H, W)
    labels: np.ndarray  # (K,) int class index
    label_names: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)


def write_prototypes(
    run_dir: str | os.PathLike[str],
    name: str,
    *,
    images: np.ndarray,
    labels: np.ndarray,
    label_names: list[str],
    title: str,
    description: str = "",
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Save a distilled prototype set.

    Parameters
    ----------
    images
        ``(K, C, H, W)`` or ``(K, H, W)`` synthetic images.
    labels
        ``(K,)`` class index of each prototype.
    label_names
        Class names, in class-index order.
    metrics
        E.g. test accuracy of a network trained on the prototypes vs on random real
        subsets of the same size.

    Raises
    ------
    ParameterError
        If ``name`` is not a valid panel name, ``images`` is not ``(K, C, H, W)`` or
        ``(K, H, W)``, ``labels`` does not hold one label per image, or a label does not
        index ``label_names``.
    """
    folder = _panel_dir(run_dir, "distillation", name)
    images = _as_nchw(images, "images")
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if len(labels) != len(images):
        raise ParameterError("labels", len(labels), f"must have one per image ({len(images)})")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(label_names)):
        raise ParameterError(
            "labels", sorted(set(labels.tolist())), f"must index label_names ({len(label_names)})"
        )
    _write_npz(folder / "prototypes.npz", images=images, labels=labels)
    _write_summary(folder, title, description, label_names=list(label_names), metrics=metrics or {})
    return folder


def read_prototypes(run_dir: str | os.PathLike[str], name: str) -> PrototypePanel:
    """Read a prototype panel written by :func:`write_prototypes`.

    Raises
    ------
    ParameterError
        If ``name`` is not a valid panel name.
    DataMissingError
        If the panel has no ``prototypes.npz``.
    DataFormatError
        If ``prototypes.npz`` is unreadable, a link outside the run folder, lacks
        ``images`` or ``labels`` (or they do not match), or the summary has no
        ``label_names``.
    """
    folder = _panel_dir(run_dir, "distillation", name)
    arrays = _read_npz(folder / "prototypes.npz", ("images", "labels"))
    summary = _read_summary(folder)
    label_names = _label_names(folder, summary)
    images = _with_channels(arrays["images"])
    if images.ndim != 4 or len(arrays["labels"]) != len(images):
        raise DataFormatError(
            f"'{folder / 'prototypes.npz'}': images {images.shape} and labels "
            f"{arrays['labels'].shape} do not match"
        )
    return PrototypePanel(
        name,
        summary["title"],
        summary["description"],
        images,
        arrays["labels"].astype(np.int64),
        label_names,
        dict(summary.get("metrics") or {}),
    )


# --------------------------------------------------------------------------- realism
@dataclass
class RealismPanel:
    """Morphology of simulated and real galaxies, and how well a network tells them apart."""

    name: str
    title: str
    description: str
    simulated: pd.DataFrame  # one row per galaxy, one column per quantity
    real: pd.DataFrame
    metrics: dict[str, Any] = field(default_factory=dict)


def write_realism(
    run_dir: str | os.PathLike[str],
    name: str,
    *,
    simulated: pd.DataFrame,
    real: pd.DataFrame,
    title: str,
    description: str = "",
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Save per-galaxy morphology of a simulated and a real set (e.g. statmorph tables).

    Parameters
    ----------
    simulated, real
        Numeric tables with the same quantity columns (``simulated.csv``, ``real.csv``).
    metrics
        Figures of the comparison: domain AUCs, distances per quantity.

    Raises
    ------
    ParameterError
        If the tables share no numeric column.
    """
    folder = _panel_dir(run_dir, "realism", name)
    shared = [
        c for c in simulated.columns
        if c in real.columns and pd.api.types.is_numeric_dtype(simulated[c])
        and not pd.api.types.is_bool_dtype(simulated[c])
    ]  # fmt: skip
    if not shared:
        raise ParameterError("real", list(real.columns), "shares no numeric column with simulated")
    _write_csv(folder / "simulated.csv", simulated[shared])
    _write_csv(folder / "real.csv", real[shared])
    _write_summary(folder, title, description, metrics=metrics or {})
    return folder


def read_realism(run_dir: str | os.PathLike[str], name: str) -> RealismPanel:
    """Read a realism panel written by :func:`write_realism`."""
    folder = _panel_dir(run_dir, "realism", name)
    simulated = _read_csv(folder / "simulated.csv", (), numeric=("*",))
    real = _read_csv(folder / "real.csv", tuple(simulated.columns), numeric=("*",))
    summary = _read_summary(folder)
    return RealismPanel(
        name, summary["title"], summary["description"], simulated, real,
        dict(summary.get("metrics") or {}),
    )  # fmt: skip


# --------------------------------------------------------------------------- models
#: Fields of a model card the report shows (the card itself is stored whole).
_CARD_SHOWN = ("name", "version", "task", "summary", "output_names", "input_shape",
               "weights_sha256", "weights_dtype", "galaxy_xai_version", "licence")  # fmt: skip


@dataclass
class ModelCardPanel:
    """A shipped model's card, and how it did on the run's own galaxies."""

    name: str
    title: str
    description: str
    card: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)


def write_model_card(
    run_dir: str | os.PathLike[str],
    name: str,
    *,
    card: dict[str, Any],
    title: str,
    description: str = "",
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Save a model card (``card.json``) and the run's figures of that model.

    Parameters
    ----------
    card
        The model's card (see :data:`galaxy_xai.models.shipped.CARD_FIELDS`).
    metrics
        What the model scored in this run (e.g. on freshly simulated galaxies).
    """
    folder = _panel_dir(run_dir, "models", name)
    write_json(folder / "card.json", card)
    _write_summary(folder, title, description, metrics=metrics or {})
    return folder


def read_model_card(run_dir: str | os.PathLike[str], name: str) -> ModelCardPanel:
    """Read a model-card panel written by :func:`write_model_card` (fields type-checked)."""
    from galaxy_xai.models.shipped import CARD_FIELDS

    folder = _panel_dir(run_dir, "models", name)
    card = read_json(_inside_run(folder / "card.json"), what="model card")
    check_json_fields(card, CARD_FIELDS, where=str(folder / "card.json"), required=("name",))
    summary = _read_summary(folder)
    return ModelCardPanel(
        name, summary["title"], summary["description"], card, dict(summary.get("metrics") or {})
    )


# --------------------------------------------------------------------------- features
#: Columns of a features panel: one row per (galaxy, method).
FEATURE_PANEL_COLUMNS = ("id", "method", "true_bt", "measured_bt", "true_re_arcsec",
                         "measured_re_arcsec")  # fmt: skip


@dataclass
class FeaturesPanel:
    """Bulge B/T and half-light radius measured vs true, per method (saliency, controls)."""

    name: str
    title: str
    description: str
    table: pd.DataFrame  # FEATURE_PANEL_COLUMNS
    metrics: dict[str, Any] = field(default_factory=dict)


def write_features(
    run_dir: str | os.PathLike[str],
    name: str,
    *,
    table: pd.DataFrame,
    title: str,
    description: str = "",
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Save a features panel: measured and true bulge B/T and radius per method.

    Parameters
    ----------
    table
        Columns :data:`FEATURE_PANEL_COLUMNS` (``method``: e.g. ``saliency``,
        ``image_only``, ``size``).
    metrics
        Figures of the comparison (Pearson r per method and quantity).

    Raises
    ------
    ParameterError
        A missing column.
    """
    missing = [c for c in FEATURE_PANEL_COLUMNS if c not in table.columns]
    if missing:
        raise ParameterError("table", missing, "features panel needs these columns")
    folder = _panel_dir(run_dir, "features", name)
    folder.mkdir(parents=True, exist_ok=True)
    _write_csv(folder / "features.csv", table[list(FEATURE_PANEL_COLUMNS)])
    _write_summary(folder, title, description, metrics=metrics or {})
    return folder


def read_features(run_dir: str | os.PathLike[str], name: str) -> FeaturesPanel:
    """Read a features panel written by :func:`write_features`.

    Raises
    ------
    DataMissingError
        The panel's table is missing.
    DataFormatError
        A missing column or text where numbers belong.
    """
    folder = _panel_dir(run_dir, "features", name)
    table = _read_csv(folder / "features.csv", FEATURE_PANEL_COLUMNS,
                      numeric=FEATURE_PANEL_COLUMNS[2:])  # fmt: skip
    table["method"] = table["method"].astype(str)
    summary = _read_summary(folder)
    return FeaturesPanel(name, summary["title"], summary["description"], table,
                         dict(summary.get("metrics") or {}))  # fmt: skip


# --------------------------------------------------------------------------- audit
#: Columns of an audit panel's table of shown suspects.
AUDIT_PANEL_COLUMNS = ("id", "given_label", "suggested_label", "self_confidence")


@dataclass
class AuditPanel:
    """A label audit: the top suspects (images and maps), counts per class."""

    name: str
    title: str
    description: str
    suspects: pd.DataFrame  # AUDIT_PANEL_COLUMNS, one row per shown suspect
    images: np.ndarray  # (N, C, H, W)
    saliency: np.ndarray  # (N, H, W), maps of the suggested class (zeros if none)
    flagged_share: dict[str, float]
    metrics: dict[str, Any] = field(default_factory=dict)
    # covariate -> {"bin_edges": [...], "predicted_share": {class: [share per bin]}}
    trends: dict[str, Any] = field(default_factory=dict)


def write_audit(
    run_dir: str | os.PathLike[str],
    name: str,
    *,
    suspects: pd.DataFrame,
    images: np.ndarray,
    saliency: np.ndarray,
    flagged_share: dict[str, float],
    title: str,
    description: str = "",
    metrics: dict[str, Any] | None = None,
    trends: dict[str, Any] | None = None,
) -> Path:
    """Save an audit panel (see :mod:`galaxy_xai.audit`).

    Parameters
    ----------
    suspects
        Columns :data:`AUDIT_PANEL_COLUMNS`, one row per shown suspect.
    images, saliency
        Their images ``(N, C, H, W)`` and maps of the suggested class ``(N, H, W)``.
    flagged_share
        Share of each given class flagged.
    metrics
        Counts (``n``, ``n_flagged`` ...).
    trends
        Predicted-class share per bin of each covariate (galaxy size, brightness), as
        :func:`galaxy_xai.audit.figures.bias_table` gives them.

    Raises
    ------
    ParameterError
        Missing columns, or images, maps and table of different lengths.
    """
    missing = [c for c in AUDIT_PANEL_COLUMNS if c not in suspects.columns]
    if missing:
        raise ParameterError("suspects", missing, "audit panel needs these columns")
    images = _as_nchw(images, "images")
    saliency = np.asarray(saliency, dtype=np.float32)
    if saliency.shape != (len(images), *images.shape[2:]) or len(suspects) != len(images):
        raise ParameterError("saliency", saliency.shape,
                             f"need one (H, W) map and one table row per image {images.shape}")  # fmt: skip
    folder = _panel_dir(run_dir, "audit", name)
    folder.mkdir(parents=True, exist_ok=True)
    _write_csv(folder / "suspects.csv", suspects[list(AUDIT_PANEL_COLUMNS)])
    _write_npz(folder / "suspects.npz", images=images, saliency=saliency)
    _write_summary(folder, title, description, metrics=metrics or {},
                   details={"flagged_share": {str(k): float(v) for k, v in flagged_share.items()},
                            "trends": dict(trends or {})})  # fmt: skip
    return folder


def read_audit(run_dir: str | os.PathLike[str], name: str) -> AuditPanel:
    """Read an audit panel written by :func:`write_audit`.

    Raises
    ------
    DataMissingError
        The panel's arrays are missing.
    DataFormatError
        Table, images and maps that do not match, or a damaged summary.
    """
    folder = _panel_dir(run_dir, "audit", name)
    arrays = _read_npz(folder / "suspects.npz", ("images", "saliency"))
    if len(arrays["images"]) == 0:  # nothing flagged: an empty table, not a damaged one
        table = pd.DataFrame({c: pd.Series(dtype=object) for c in AUDIT_PANEL_COLUMNS})
    else:
        table = _read_csv(folder / "suspects.csv", AUDIT_PANEL_COLUMNS,
                          numeric=("self_confidence",))  # fmt: skip
    images = _with_channels(arrays["images"])
    if (
        images.ndim != 4
        or arrays["saliency"].shape != (len(images), *images.shape[2:])
        or len(table) != len(images)
    ):
        raise DataFormatError(f"'{folder}': suspects.csv, images and maps do not match")
    summary = _read_summary(folder)
    share = summary["details"].get("flagged_share") or {}
    if not isinstance(share, dict) or not all(isinstance(v, int | float) for v in share.values()):
        raise DataFormatError(f"'{folder / _SUMMARY}': details.flagged_share is not a mapping")
    trends = summary["details"].get("trends") or {}
    if not isinstance(trends, dict):
        raise DataFormatError(f"'{folder / _SUMMARY}': details.trends is not a mapping")
    return AuditPanel(name, summary["title"], summary["description"], table, images,
                      arrays["saliency"], {str(k): float(v) for k, v in share.items()},
                      dict(summary.get("metrics") or {}), trends)  # fmt: skip
