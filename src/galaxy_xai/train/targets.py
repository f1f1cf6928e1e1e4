"""Targets from a dataset catalogue: class maps, label checks, vote fractions, counts.

Shared by training, evaluation and the benchmarks, so a class map means the same
thing everywhere. Every bad value is reported with its column, row and id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from galaxy_xai.data.store import GalaxyDataset
from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.train.config import DataConfig

__all__ = ["Targets", "prepare_targets"]


@dataclass(frozen=True)
class Targets:
    """The usable rows of a dataset and their targets.

    Attributes
    ----------
    rows : numpy.ndarray
        Dataset row indices kept (rows whose class maps to null are dropped).
    values : numpy.ndarray
        ``(len(rows),)`` int64 class indices, or ``(len(rows), K)`` float32.
    output_names : list of str
        One name per model output (class names, answer columns, regressed columns).
    ids : numpy.ndarray
        Catalogue ids of ``rows`` (str).
    """

    rows: np.ndarray
    values: np.ndarray
    output_names: list[str]
    ids: np.ndarray


def _value_key(value: object) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _first_bad(catalog: pd.DataFrame, mask: np.ndarray) -> str:
    i = int(np.flatnonzero(mask)[0])
    return f"row {i} (id {catalog['id'].iloc[i]!r})"


def _require_label_like(ds: GalaxyDataset, col: str, n_classes: int, n_rows: int) -> None:
    """Refuse a column that names each galaxy rather than its class (an id, a fraction).

    Raises
    ------
    DataFormatError
        If ``col`` is the id column, or most of its values occur once (more classes
        than half the rows), so that no class could be learnt.
    """
    if col == "id" or (n_rows >= 4 and n_classes > n_rows / 2):
        raise DataFormatError(
            f"dataset '{ds.path}' column '{col}' cannot be a class label: it has "
            f"{n_classes} distinct values in {n_rows} rows, so most classes would hold a single "
            "galaxy (an identifier or a continuous quantity?); choose a class column, map its "
            "values with data.class_map, or use --task regression / vote_fraction"
        )


def _classification(ds: GalaxyDataset, cfg: DataConfig) -> Targets:
    columns = cfg.target_columns
    if len(columns) != 1:
        raise ParameterError("data.target", cfg.target, "classification needs exactly one column")
    col = columns[0]
    cat = ds.catalog
    if col not in cat.columns:
        raise DataFormatError(
            f"dataset '{ds.path}' has no column '{col}' (found: {', '.join(cat.columns)})"
        )
    raw = cat[col].to_numpy()
    missing = pd.isna(cat[col]).to_numpy()
    if missing.any():
        raise DataFormatError(
            f"dataset '{ds.path}' column '{col}': missing value at {_first_bad(cat, missing)}"
        )
    keys = np.array([_value_key(v) for v in raw], dtype=object)
    if cfg.class_map is not None:
        cmap = cfg.class_map
        unknown = ~np.isin(keys, list(cmap))
        if unknown.any():
            values = sorted(set(keys[unknown]))
            raise DataFormatError(
                f"dataset '{ds.path}' column '{col}' has value(s) {values} not covered by "
                f"data.class_map (keys: {sorted(cmap)}; first at {_first_bad(cat, unknown)}); "
                "map them to a class name, or to null to drop them"
            )
        names = list(dict.fromkeys(v for v in cmap.values() if v is not None))
        index = {k: (names.index(v) if v is not None else -1) for k, v in cmap.items()}
        labels = np.array([index[k] for k in keys], dtype=np.int64)
    else:
        label_names = ds.label_names if col == "label" else None
        if label_names:
            names = [str(n) for n in label_names]
            valid = {str(i): i for i in range(len(names))}
            bad = ~np.isin(keys, list(valid))
            if bad.any():
                values = sorted(set(keys[bad]))
                raise DataFormatError(
                    f"dataset '{ds.path}' column '{col}' has value(s) {values} outside "
                    f"0..{len(names) - 1}: its label_names has {len(names)} classes {names} "
                    f"(first at {_first_bad(cat, bad)}); use data.class_map to remap or drop"
                )
            labels = np.array([valid[k] for k in keys], dtype=np.int64)
        else:
            names = sorted(
                set(keys),
                key=lambda k: (
                    not k.lstrip("-").isdigit(),
                    int(k) if k.lstrip("-").isdigit() else 0,
                    k,
                ),
            )
            _require_label_like(ds, col, len(names), len(keys))
            index = {k: i for i, k in enumerate(names)}
            labels = np.array([index[k] for k in keys], dtype=np.int64)
    if cfg.output_names:
        if len(cfg.output_names) != len(names):
            raise ParameterError(
                "data.output_names", cfg.output_names, f"needs {len(names)} names ({names})"
            )
        names = list(cfg.output_names)
    rows = np.flatnonzero(labels >= 0)
    return Targets(rows, labels[rows], names, cat["id"].to_numpy()[rows].astype(str))


def _numeric(ds: GalaxyDataset, cfg: DataConfig, task: str) -> Targets:
    cat = ds.catalog
    columns = cfg.target_columns
    absent = [c for c in columns if c not in cat.columns]
    if absent:
        raise DataFormatError(
            f"dataset '{ds.path}' has no column(s) {absent} (found: {', '.join(cat.columns)})"
        )
    block = cat[columns]
    for col in columns:
        if not pd.api.types.is_numeric_dtype(block[col]):
            raise DataFormatError(f"dataset '{ds.path}' column '{col}' is not numeric")
    values = block.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataFormatError(
            f"dataset '{ds.path}' column '{columns[c]}': NaN or infinite value at row {r} "
            f"(id {cat['id'].iloc[r]!r})"
        )
    if task == "vote_fraction":
        out = (values < 0) | (values > 1)
        if out.any():
            r, c = np.argwhere(out)[0]
            raise DataFormatError(
                f"dataset '{ds.path}' column '{columns[c]}': vote fraction {values[r, c]} "
                f"outside [0, 1] at row {r} (id {cat['id'].iloc[r]!r})"
            )
    if task == "dirichlet" and (values < 0).any():
        r, c = np.argwhere(values < 0)[0]
        raise DataFormatError(
            f"dataset '{ds.path}' column '{columns[c]}': negative vote count {values[r, c]} "
            f"at row {r} (id {cat['id'].iloc[r]!r})"
        )
    names = list(cfg.output_names) if cfg.output_names else list(columns)
    if len(names) != len(columns):
        raise ParameterError("data.output_names", cfg.output_names, f"needs {len(columns)} names")
    rows = np.arange(len(cat))
    return Targets(rows, values.astype(np.float32), names, cat["id"].to_numpy().astype(str))


def prepare_targets(ds: GalaxyDataset, cfg: DataConfig, task: str) -> Targets:
    """The rows and targets of ``ds`` for ``task`` under the data config ``cfg``.

    Raises
    ------
    DataFormatError
        For a missing column, a missing value, a label outside the dataset's classes or
        not covered by the class map (the message names the value, row and id), or a
        vote fraction outside [0, 1].
    ParameterError
        For an impossible combination (several columns for classification).
    """
    targets = _classification(ds, cfg) if task == "classification" else _numeric(ds, cfg, task)
    if len(targets.rows) == 0:
        raise DataFormatError(
            f"dataset '{ds.path}': no usable rows for target {cfg.target!r} "
            "(all dropped by the class map, or the dataset is empty)"
        )
    return targets


def question_groups(cfg: DataConfig, output_names: list[str]) -> list[list[int]] | None:
    """Output indices per question for the Dirichlet head (None: one question).

    Raises
    ------
    ParameterError
        If a column of ``cfg.question_groups`` is not one of ``output_names``.
    """
    if not cfg.question_groups:
        return None
    groups = []
    for group in cfg.question_groups:
        unknown = [c for c in group if c not in output_names]
        if unknown:
            raise ParameterError(
                "data.question_groups", unknown, f"are not target columns ({output_names})"
            )
        groups.append([output_names.index(c) for c in group])
    return groups
