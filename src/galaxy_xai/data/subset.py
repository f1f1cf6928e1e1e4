"""A dataset file holding some rows of another (by id and/or a catalogue condition)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from galaxy_xai.data.store import open_dataset, write_dataset
from galaxy_xai.errors import DataFormatError

__all__ = ["id_positions", "subset_dataset"]


def id_positions(
    ids: Sequence[object], known_ids: Iterable[str]
) -> tuple[np.ndarray, list[object]]:
    """Position in ``known_ids`` of each of ``ids`` (compared as text), and the ids not there.

    Parameters
    ----------
    ids
        The ids asked for, in the order wanted.
    known_ids
        The ids there are (text), e.g. ``catalog["id"].astype(str)``; of a repeated id the
        last position counts.

    Returns
    -------
    positions : numpy.ndarray
        ``int64`` position of every id of ``ids`` that ``known_ids`` holds, in order.
    missing : list
        The ids of ``ids`` that ``known_ids`` does not hold, in order (empty if none).
    """
    pos = {v: i for i, v in enumerate(known_ids)}
    missing = [i for i in ids if str(i) not in pos]
    found = np.array([pos[str(i)] for i in ids if str(i) in pos], dtype=np.int64)
    return found, missing


def subset_dataset(
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    ids: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    where: Any = None,
) -> tuple[Path, int]:
    """Write the rows of ``data`` with the given ids (and ``where(catalog)`` True) to ``out``.

    Returns ``(path, n_rows)``. Images are copied in their stored form (float32).

    Raises
    ------
    DataFormatError
        Naming the first requested id the dataset does not hold.
    """
    with open_dataset(data) as ds:
        cat = ds.catalog
        keep = np.ones(len(cat), bool)
        if ids is not None:
            id_set = set(map(str, ids))
            _, missing = id_positions(ids, cat["id"].astype(str))
            if missing:
                raise DataFormatError(
                    f"id {missing[0]!r} is not in dataset '{data}' ({len(missing)} missing)"
                )
            keep &= cat["id"].astype(str).isin(id_set).to_numpy()
        if where is not None:
            keep &= np.asarray(where(cat), dtype=bool)
        rows = np.flatnonzero(keep)
        images = ds.images[rows] if len(rows) else np.zeros((0, *ds.image_shape), np.float32)
        sub = cat.iloc[rows].reset_index(drop=True)
        if columns is not None:
            sub = sub[["id", *[c for c in columns if c != "id"]]]
        meta = dict(ds.metadata)
    meta["subset_of"] = str(data)
    path = write_dataset(out, images, sub, metadata=meta)
    return path, len(rows)
