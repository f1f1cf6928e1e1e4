"""Attribution maps on disk: one HDF5 file per run, streamed, resumable.

Layout (``format_version`` 1)::

    /maps    (N, H, W) float32 (or (N, C, H, W) with channels kept), one map per
             chunk, lzf-compressed, in the dataset's order
    /ids     (N,) UTF-8 image ids, same order as the dataset (or its shard)
    /rows    (N,) int64 row of each map in the dataset
    attrs:
      format          "galaxy-xai-maps"
      format_version  1
      metadata        JSON: method, target, target_index, output_names, models,
                      dataset, noise_level, n_samples, seed, abs, mc_dropout, shard,
                      package version, created ...

While being written the file is ``<out>.partial`` with a ``_written`` mask, so an
interrupted job rerun with ``resume`` (``galaxy-xai explain --resume``) continues where
it stopped (when its settings, the *fingerprint*, are unchanged) and no reader mistakes
it for a finished file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from galaxy_xai.data.store import (
    FileFormat,
    LazyArray,
    OpenedFile,
    PartialWriter,
    bytes_per_row,
    check_memory,
    checked_array,
    json_attribute,
    read_rows,
)
from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.io import check_json_fields

__all__ = ["FORMAT_NAME", "MapArray", "MapWriter", "MapsFile", "merge_maps", "open_maps"]

FORMAT_NAME = "galaxy-xai-maps"
FORMAT_VERSION = 1
#: Types of the metadata fields that readers of a maps file use.
_METADATA_FIELDS: dict[str, Any] = {
    "method": str,
    "dataset": str,
    "pixel_scale_arcsec": float,
    "output_names": list[str],
}
_MAPS_FILE = FileFormat(
    FORMAT_NAME,
    "maps",
    "maps file",
    "'galaxy-xai explain'",
    unreadable="is not readable HDF5",
    interrupted="the job was interrupted; rerun it with --resume to continue",
)


class MapWriter(PartialWriter):
    """Write maps row by row into ``<path>.partial``; rename when all are written.

    Parameters
    ----------
    path
        Final output path.
    ids
        Image ids in output order.
    map_shape
        ``(H, W)`` or ``(C, H, W)`` of one map.
    rows
        Dataset row of each output row (default ``0..N-1``).
    metadata
        JSON-serialisable description of the run.
    fingerprint
        Settings that must match for a partial file to be resumed.
    resume
        Reopen a compatible partial file instead of starting afresh.

    Raises
    ------
    ParameterError
        If ``rows`` does not hold one dataset row per id.
    OutputBusyError
        If another process is writing ``path`` now (its partial file is locked).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        ids: Sequence[str],
        map_shape: Sequence[int],
        rows: Sequence[int] | np.ndarray | None = None,
        metadata: dict[str, Any] | None = None,
        fingerprint: str = "",
        resume: bool = True,
    ) -> None:
        self.ids = [str(i) for i in ids]
        self.map_shape = tuple(int(s) for s in map_shape)
        self.rows = np.arange(len(self.ids)) if rows is None else np.asarray(rows, np.int64)
        if len(self.rows) != len(self.ids):
            raise ParameterError("rows", len(self.rows), f"needs one per id ({len(self.ids)})")
        self.metadata = dict(metadata or {})
        self.fingerprint = fingerprint
        if not self._open_partial(path, resume=resume):
            self._create_layout()

    def _create_layout(self) -> None:
        n = len(self.ids)
        self._h5.create_dataset(
            "maps",
            shape=(n, *self.map_shape),
            dtype=np.float32,
            chunks=(1, *self.map_shape) if n else None,
            compression="lzf" if n else None,
        )
        self._h5.create_dataset("ids", data=np.array(self.ids, dtype=h5py.string_dtype()))
        self._h5.create_dataset("rows", data=self.rows)
        self._h5.create_dataset("_written", shape=(n,), dtype=bool)
        self._h5.attrs["format"] = FORMAT_NAME
        self._h5.attrs["format_version"] = FORMAT_VERSION
        self._h5.attrs["fingerprint"] = self.fingerprint

    def _compatible_partial(self) -> bool:
        try:
            with h5py.File(self.partial, "r") as h5:
                return (
                    h5.attrs.get("format") == FORMAT_NAME
                    and h5.attrs.get("fingerprint", "") == self.fingerprint
                    and "_written" in h5
                    and tuple(h5["maps"].shape) == (len(self.ids), *self.map_shape)
                    and list(h5["ids"].asstr()[:]) == self.ids
                )
        except (OSError, KeyError):
            return False

    def write(self, start: int, maps: np.ndarray) -> None:
        """Write a block of maps at output rows ``start:start+len(maps)``.

        Raises
        ------
        DataFormatError
            If a map has NaN or infinite values (naming its id) or the wrong shape.
        """
        maps = np.asarray(maps, dtype=np.float32)
        if tuple(maps.shape[1:]) != self.map_shape:
            raise DataFormatError(
                f"maps for rows {start}..: shape {maps.shape[1:]} is not {self.map_shape}"
            )
        finite = np.isfinite(maps.reshape(len(maps), -1)).all(1)
        if not finite.all():
            bad = start + int(np.flatnonzero(~finite)[0])
            raise DataFormatError(f"map of id {self.ids[bad]!r} has NaN or infinite values")
        stop = start + len(maps)
        self._h5["maps"][start:stop] = maps
        self._h5["_written"][start:stop] = True
        self._h5.flush()

    def close(self) -> Path:
        """Write the metadata and rename the finished file; keep it partial if incomplete.

        Raises
        ------
        DataFormatError
            If some maps were never written: the partial file is kept for a resume.
        """
        missing = self.missing_indices()
        if len(missing):
            self.abort()  # keep the partial for a resume, release its lock
            raise DataFormatError(
                f"'{self.path}': {len(missing)} maps never written (first ids: "
                f"{[self.ids[i] for i in missing[:5]]}); partial output kept at '{self.partial}'"
            )
        return self._finish(self.metadata)


class MapArray(LazyArray):
    """Lazy read-only view of ``/maps``; reading a map with NaNs raises, naming its id."""

    _noun = "maps"

    def __init__(self, dataset: h5py.Dataset, ids: np.ndarray, path: Path) -> None:
        self._ds = dataset
        self._ids = ids
        self._path = path
        self._where = f"maps file '{path}'"
        self.shape: tuple[int, ...] = tuple(dataset.shape)
        self.dtype = np.dtype(np.float32)
        self.ndim = len(self.shape)
        self._bytes_each = math.prod(self.shape[1:]) * (dataset.dtype.itemsize + 4)

    def __getitem__(self, key: Any) -> np.ndarray:
        self._check_read(key)
        first = key[0] if isinstance(key, tuple) else key
        if isinstance(first, np.ndarray | list):
            idx = np.asarray(first)
            idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.int64)
            rows = np.arange(self.shape[0])[idx]
            out = read_rows(self._ds, rows).astype(np.float32, copy=False)
            if isinstance(key, tuple):
                out = out[(slice(None), *key[1:])]
        else:
            rows = np.atleast_1d(np.arange(self.shape[0])[first])
            out = np.asarray(self._ds[key], dtype=np.float32)
        finite = np.isfinite(out.reshape(len(rows), -1)).all(1) if len(rows) else np.ones(0, bool)
        if not finite.all():
            bad = int(rows[np.flatnonzero(~finite)[0]])
            raise DataFormatError(
                f"maps file '{self._path}': map of id {self._ids[bad]!r} (row {bad}) has "
                "NaN or infinite values"
            )
        return out


class MapsFile(OpenedFile):
    """An opened maps file.

    Attributes
    ----------
    path : Path
    maps : MapArray
        ``(N, H, W)`` float32 maps, read lazily (NaNs raise, naming the id).
    ids : numpy.ndarray
        ``(N,)`` image ids (str), in the dataset's order.
    rows : numpy.ndarray
        ``(N,)`` dataset row of each map.
    metadata : dict
        Method, target, models, dataset, noise level, samples, seed, ...

    Raises
    ------
    DataMissingError
        If ``path`` does not exist.
    DataFormatError
        If the file is not a readable galaxy-xai maps file: not HDF5, damaged, or with
        maps, ids, rows or metadata of the wrong shape or type.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._open_checked(path, _MAPS_FILE, self._read_layout)

    def _read_layout(self) -> None:
        """Check and read ``ids``, ``rows`` and ``metadata``; open ``maps`` lazily."""
        where = f"maps file '{self.path}'"
        maps = checked_array(
            self._h5,
            "maps",
            where=where,
            ndims=(3, 4),
            kinds="f",
            expected="(N, H, W) or (N, C, H, W) float maps",
        )
        n = len(maps)
        rows_of = (n, f"'maps' holds {n} maps")
        ids = checked_array(
            self._h5,
            "ids",
            where=where,
            ndims=(1,),
            kinds="T",
            expected="text image ids, one per map",
            rows=rows_of,
        )
        rows = checked_array(
            self._h5,
            "rows",
            where=where,
            ndims=(1,),
            kinds="iu",
            expected="integer dataset rows, one per map",
            rows=rows_of,
        )
        each = bytes_per_row(ids) + bytes_per_row(rows)
        check_memory(n, each, where=where, what=f"the ids and rows of {n} maps", noun="maps")
        self.ids = np.asarray(ids.asstr(errors="backslashreplace")[:], dtype=object)
        self.rows = np.asarray(rows[:], dtype=np.int64)
        if len(self.rows) and self.rows.min() < 0:
            j = int(np.argmin(self.rows))
            raise DataFormatError(
                f"{where}: map {j} (id {self.ids[j]!r}) has dataset row {self.rows[j]} < 0"
            )
        self.metadata: dict[str, Any] = json_attribute(
            self._h5, "metadata", where=where, default={}, kind=dict
        )
        check_json_fields(self.metadata, _METADATA_FIELDS, where=f"{self.path}:metadata")
        self.maps = MapArray(maps, self.ids, self.path)

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return (
            f"MapsFile('{self.path}', n={len(self)}, method={self.metadata.get('method')!r}, "
            f"target={self.metadata.get('target')!r})"
        )


def open_maps(path: str | os.PathLike[str]) -> MapsFile:
    """Open a maps file written by ``galaxy-xai explain`` / :func:`explain_dataset`.

    Raises
    ------
    DataMissingError
        If the file does not exist (saying so when only a partial file exists).
    DataFormatError
        If it is not a maps file.
    """
    return MapsFile(path)


def merge_maps(paths: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str]) -> Path:
    """Join the maps files of ``--shard i/N`` jobs into one, in dataset row order.

    Raises
    ------
    DataFormatError
        If the shards come from different settings or overlap.
    ParameterError
        If ``paths`` is empty.
    DataMissingError
        If a maps file does not exist.
    OutputBusyError
        If another process is writing ``out`` now.
    """
    if not paths:
        raise ParameterError("paths", [], "needs at least one maps file")
    files = [open_maps(p) for p in paths]
    try:
        keys = ("method", "target", "models", "dataset", "noise_level", "n_samples", "seed")
        ref = {k: files[0].metadata.get(k) for k in keys}
        for f in files[1:]:
            other = {k: f.metadata.get(k) for k in keys}
            if other != ref:
                raise DataFormatError(
                    f"'{f.path}' was made with other settings than '{files[0].path}': "
                    f"{other} vs {ref}"
                )
        rows = np.concatenate([f.rows for f in files])
        if len(np.unique(rows)) != len(rows):
            raise DataFormatError(f"maps files {list(map(str, paths))} overlap (same rows twice)")
        ids = np.concatenate([f.ids for f in files])
        order = np.argsort(rows, kind="stable")
        meta = dict(files[0].metadata)
        meta["shard"] = None
        meta["merged_from"] = [str(p) for p in paths]
        with MapWriter(
            out,
            ids=list(ids[order]),
            rows=rows[order],
            map_shape=files[0].maps.shape[1:],
            metadata=meta,
            resume=False,
        ) as writer:
            offsets = np.cumsum([0] + [len(f) for f in files])
            position = np.empty(len(rows), np.int64)
            position[order] = np.arange(len(rows))
            for f, start in zip(files, offsets[:-1], strict=True):
                for i in range(len(f)):
                    writer.write(int(position[start + i]), f.maps[i : i + 1])
    finally:
        for f in files:
            f.close()
    return Path(out)
