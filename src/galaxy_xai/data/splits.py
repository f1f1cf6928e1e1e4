"""Fixed, seeded train/validation/test splits that depend only on the ids.

A galaxy's split is decided by a hash of ``(seed, id)``, stratified by label when
labels are given, so adding or reordering rows never moves an existing galaxy from
test into training. Every run records its split (ids per part) in its run folder.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.io import check_json_fields, read_json

__all__ = [
    "id_hash_uniform",
    "read_split_file",
    "read_split_ids",
    "read_split_parts",
    "split_indices",
]


def id_hash_uniform(ids: Sequence[object], seed: int) -> np.ndarray:
    """A number in [0, 1) per id, fixed by ``(seed, id)`` (BLAKE2b)."""
    out = np.empty(len(ids), dtype=np.float64)
    for i, ident in enumerate(ids):
        digest = hashlib.blake2b(f"{seed}:{ident}".encode(), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "big") / 2**64
    return out


def split_indices(
    ids: Sequence[object],
    fractions: dict[str, float],
    *,
    seed: int = 0,
    stratify: Sequence[object] | np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Split row indices into named parts with the given fractions.

    Parameters
    ----------
    ids
        One id per row (unique).
    fractions
        Part name -> fraction, e.g. ``{"train": 0.7, "val": 0.1, "test": 0.2}``;
        must be non-negative and sum to 1 (within 1e-6).
    seed
        Split seed; the same ids and seed always give the same split.
    stratify
        Optional label per row: each label is split separately with the same
        fractions, so small classes appear in every part where possible.

    Returns
    -------
    dict
        Part name -> sorted integer row indices; the parts are disjoint and cover all rows.

    Raises
    ------
    ParameterError
        If ``fractions`` is empty, has a negative fraction or does not sum to 1, or
        ``stratify`` does not have one label per id.
    """
    if not fractions:
        raise ParameterError("fractions", fractions, "needs at least one part")
    if any(f < 0 for f in fractions.values()) or abs(sum(fractions.values()) - 1.0) > 1e-6:
        raise ParameterError("fractions", fractions, "must be non-negative and sum to 1")
    n = len(ids)
    if stratify is not None and len(stratify) != n:
        raise ParameterError("stratify", len(stratify), f"must have one label per id ({n})")
    u = id_hash_uniform(ids, seed)
    groups = (
        np.zeros(n, dtype=np.int64)
        if stratify is None
        else np.unique(np.asarray(stratify, dtype=object).astype(str), return_inverse=True)[1]
    )
    names = list(fractions)
    cuts = np.cumsum([fractions[k] for k in names])
    parts: dict[str, list[np.ndarray]] = {k: [] for k in names}
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        members = members[np.argsort(u[members], kind="stable")]
        bounds = np.rint(cuts * len(members)).astype(int)
        start = 0
        for name, stop in zip(names, bounds, strict=True):
            parts[name].append(members[start:stop])
            start = stop
    return {k: np.sort(np.concatenate(v)) if v else np.zeros(0, np.int64) for k, v in parts.items()}


# What a split file holds per part: a list of ids (text or whole numbers).
SPLIT_IDS = list[str | int]


def read_split_parts(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Ids per part of a split file (``{part: [ids...]}``), checked.

    The parts may also sit under a ``"parts"`` or ``"ids"`` key, beside other fields
    (seed, fractions) that are not id lists and are ignored.

    Raises
    ------
    DataMissingError
        If the file does not exist.
    DataFormatError
        If it is not UTF-8 JSON, or a part is not a list of ids.
    """
    data = read_json(path, what="split file")
    for wrapper in ("parts", "ids"):
        if isinstance(data.get(wrapper), dict):
            data = data[wrapper]
            break
    parts = {k: v for k, v in data.items() if isinstance(v, list)}
    if not parts:
        raise DataFormatError(f"split file '{path}' must map part names to lists of ids")
    check_json_fields(parts, dict.fromkeys(parts, SPLIT_IDS), where=str(path))
    return {str(k): [str(i) for i in v] for k, v in parts.items()}


def read_split_file(path: str | os.PathLike[str]) -> dict[str, list[str]] | None:
    """A run's ``split.json`` (ids per part), or None if absent.

    Raises
    ------
    DataFormatError
        If the file is not a mapping of part names to lists of ids.
    """
    return read_split_parts(path) if Path(path).is_file() else None


def read_split_ids(path: str | os.PathLike[str], part: str | None = None) -> tuple[list[str], str]:
    """Ids of one part of a run's ``split.json`` (``{part: [ids...]}``).

    With ``part=None`` the ``calibration`` part is used if present, else ``val``.

    Returns
    -------
    ids, part
        The part's ids (as text) and the name of the part read.

    Raises
    ------
    DataMissingError, DataFormatError, ParameterError
        Missing/unreadable file, or a part it does not hold (listing those it holds).
    """
    data = read_split_parts(path)
    parts = list(data)
    if part is None:
        part = "calibration" if "calibration" in parts else "val"
    if part not in parts:
        raise ParameterError("part", part, f"split file '{path}' holds parts {parts}")
    return data[part], part
