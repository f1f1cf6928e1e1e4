"""Joining dataset shards (e.g. ``galaxy-xai simulate --shard i/N`` outputs) into one file."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from galaxy_xai.errors import DataFormatError, DataMissingError, ParameterError

__all__ = ["join_datasets"]

logger = logging.getLogger(__name__)

# Metadata keys that legitimately differ between shards of one run.
_PER_SHARD_KEYS = {"shard", "index_range", "created", "provenance", "fingerprint", "joined_from"}
_BLOCK = 256


def _inspect(path: Path) -> dict[str, Any]:
    from galaxy_xai.data.store import FORMAT_NAME, open_dataset

    with open_dataset(path) as ds:
        ds.require_images("join")
        info = {
            "path": path,
            "n": len(ds),
            "shape": ds.image_shape,
            "metadata": ds.metadata,
            "catalog": ds.catalog,
        }
    with h5py.File(path, "r") as h5:
        if h5.attrs.get("format") != FORMAT_NAME:  # pragma: no cover - open_dataset checks
            raise DataFormatError(f"'{path}' is not a galaxy-xai dataset")
        info["dtype"] = str(h5["images"].dtype)
    return info


def join_datasets(shards: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str]) -> Path:
    """Join dataset files into one, ordered by global index, checking they fit together.

    Parameters
    ----------
    shards
        Dataset files (any order), e.g. the outputs of ``galaxy-xai simulate --shard``.
    out
        The joined dataset file (written atomically through
        :class:`~galaxy_xai.data.store.DatasetWriter`).

    Returns
    -------
    Path
        ``out``.

    Notes
    -----
    Rows are ordered by the catalogue's ``index`` column when every shard has one
    (simulations: the global galaxy index), else in the order the shards are given.
    Metadata is the first shard's, less its per-shard keys, plus ``joined_from``.
    When the shards record ``shard`` and ``n_total`` (simulations), every part must be
    present exactly once.

    Raises
    ------
    ParameterError
        If fewer than one shard is given or ``out`` is one of the shards.
    DataMissingError
        If a shard does not exist.
    DataFormatError
        If a shard holds no galaxies or is not a valid dataset file (see
        :class:`~galaxy_xai.data.store.GalaxyDataset`), shards differ in image shape,
        storage type, catalogue columns or metadata, share an id or an index, or
        (simulations) parts are missing.
    """
    from galaxy_xai.data.store import DatasetWriter

    paths = [Path(p) for p in shards]
    if not paths:
        raise ParameterError("shards", [], "needs at least one dataset file")
    out = Path(out)
    if any(p.resolve() == out.resolve() for p in paths):
        raise ParameterError("out", str(out), "must not be one of the shards")
    for p in paths:
        if not p.is_file():
            raise DataMissingError(f"shard '{p}' does not exist")
    infos = [_inspect(p) for p in paths]
    first = infos[0]
    ref_meta = {k: v for k, v in first["metadata"].items() if k not in _PER_SHARD_KEYS}
    ref_cols = list(first["catalog"].columns)
    for info in infos[1:]:
        where = f"shard '{info['path']}'"
        if info["shape"] != first["shape"]:
            raise DataFormatError(
                f"{where}: image shape {info['shape']} differs from {first['shape']} of '{first['path']}'"
            )
        if info["dtype"] != first["dtype"]:
            raise DataFormatError(
                f"{where}: images stored as {info['dtype']}, '{first['path']}' as {first['dtype']}"
            )
        if list(info["catalog"].columns) != ref_cols:
            raise DataFormatError(
                f"{where}: catalogue columns differ from '{first['path']}' "
                f"(extra: {sorted(set(info['catalog'].columns) - set(ref_cols))}, "
                f"missing: {sorted(set(ref_cols) - set(info['catalog'].columns))})"
            )
        meta = {k: v for k, v in info["metadata"].items() if k not in _PER_SHARD_KEYS}
        if meta != ref_meta:
            keys = sorted(k for k in set(meta) | set(ref_meta) if meta.get(k) != ref_meta.get(k))
            raise DataFormatError(
                f"{where}: metadata differs from '{first['path']}' in {keys} (different runs?)"
            )
    _check_parts(infos)

    # global order of (shard, row)
    pieces = []
    for s, info in enumerate(infos):
        cat = info["catalog"].copy()
        cat["_shard"] = s
        cat["_row"] = np.arange(len(cat))
        pieces.append(cat)
    catalog = pd.concat(pieces, ignore_index=True)
    if "index" in ref_cols:
        dup_index = catalog["index"][catalog["index"].duplicated()]
        if len(dup_index):
            raise DataFormatError(
                f"index value(s) {dup_index.head(5).tolist()} appear in more than one shard"
            )
        catalog = catalog.sort_values("index", kind="stable").reset_index(drop=True)
    dup = catalog["id"][catalog["id"].duplicated()]
    if len(dup):
        rows = catalog[catalog["id"].isin(dup.head(3))]
        where = ", ".join(f"'{paths[s]}'" for s in sorted(set(rows["_shard"])))
        raise DataFormatError(f"duplicate id(s) {dup.head(5).tolist()} in {where}")

    metadata = dict(ref_meta)
    metadata["joined_from"] = [str(p) for p in paths]
    if "shard" in first["metadata"]:
        metadata["shard"] = [0, 1]
    if "index_range" in first["metadata"] and "index" in ref_cols and len(catalog):
        metadata["index_range"] = [int(catalog["index"].min()), int(catalog["index"].max()) + 1]
    handles = [h5py.File(p, "r") for p in paths]
    try:
        with DatasetWriter(
            out,
            n_images=len(catalog),
            image_shape=first["shape"],
            storage_dtype=first["dtype"],
            metadata=metadata,
        ) as writer:
            shard_ids = catalog["_shard"].to_numpy()
            row_ids = catalog["_row"].to_numpy()
            records = catalog.drop(columns=["_shard", "_row"])
            for start in range(0, len(catalog), _BLOCK):
                stop = min(start + _BLOCK, len(catalog))
                images = np.stack(
                    [handles[shard_ids[i]]["images"][int(row_ids[i])] for i in range(start, stop)]
                )
                writer.write(start, images, records.iloc[start:stop])
    finally:
        for h in handles:
            h.close()
    logger.info("joined %d shards (%d rows) into '%s'", len(paths), len(catalog), out)
    return out


def _check_parts(infos: list[dict[str, Any]]) -> None:
    """For shards that record ``shard = [i, N]``: each part once, all N present."""
    parts = [info["metadata"].get("shard") for info in infos]
    if any(p is None for p in parts):
        return
    for info, part in zip(infos, parts, strict=True):
        if len(part) != 2 or not 0 <= part[0] < part[1]:
            raise DataFormatError(
                f"shard '{info['path']}': metadata field 'shard' is {part}, expected [i, N] "
                "with 0 <= i < N"
            )
    counts = {int(p[1]) for p in parts}
    if len(counts) != 1:
        raise DataFormatError(f"shards come from different splits: N = {sorted(counts)}")
    count = counts.pop()
    seen: dict[int, Path] = {}
    for info, part in zip(infos, parts, strict=True):
        i = int(part[0])
        if i in seen:
            raise DataFormatError(
                f"shard {i}/{count} given twice: '{seen[i]}' and '{info['path']}'"
            )
        seen[i] = info["path"]
    missing = sorted(set(range(count)) - set(seen))
    if missing:
        raise DataFormatError(
            f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing; join needs all {count}"
        )
    n_total = infos[0]["metadata"].get("n_total")
    if n_total is not None and sum(info["n"] for info in infos) != int(n_total):
        raise DataFormatError(
            f"the shards hold {sum(info['n'] for info in infos)} rows, the run had {n_total}"
        )
