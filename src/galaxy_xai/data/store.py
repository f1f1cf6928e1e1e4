"""The galaxy-xai dataset store: one chunked HDF5 file of images plus their catalogue.

Layout (``format_version`` 1)::

    /images            (N, C, H, W) uint8 (scaled to [0, 1] on read) or float32,
                       chunked one image per chunk, lzf-compressed
    /catalog/<column>  one 1-D dataset per catalogue column, N rows, same order as
                       /images; strings stored as UTF-8
    attrs:
      format           "galaxy-xai-dataset"
      format_version   1
      columns          JSON list: catalogue column order
      metadata         JSON object: kind ("import" | "simulation" | ...), source format,
                       preprocessing (size, crop, channels, stretch), provenance
                       (source paths, command, package version, time), label_names
                       (class names of the integer ``label`` column, if any),
                       pixel_scale_arcsec (if common to all images) and anything else
                       the writer records.

Every catalogue has an ``id`` column (string, unique). ``label`` (int class index),
``pixel_scale_arcsec`` (float, NaN where unknown) and ``source_file`` are conventional.

Writing goes through :class:`DatasetWriter`, which writes to ``<path>.partial`` and
renames when every row is written, so an interrupted job never leaves a file that
looks finished; with ``resume=True`` it reopens the partial file and reports which rows
are still missing. The partial file is written under an exclusive lock
(:class:`galaxy_xai.io.OutputLock`), so a second job writing the same path fails at
once instead of corrupting it.

Reading trusts nothing in the file: :class:`GalaxyDataset` checks the layout when it
opens one (array ranks, dtypes, one catalogue row per image, text ids, JSON metadata,
data actually stored rather than merely declared, nothing kept in other files), and
every read of images is checked against the memory available, so a crafted or damaged
file gives one :class:`~galaxy_xai.errors.DataFormatError` naming it and what is
wrong, for every command that reads datasets.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import h5py
import numpy as np
import pandas as pd

from galaxy_xai.errors import DataFormatError, DataMissingError, GalaxyXAIError, ParameterError
from galaxy_xai.io import OutputLock, check_json_fields, partial_path

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_CLASSES",
    "DatasetWriter",
    "GalaxyDataset",
    "TorchGalaxyDataset",
    "open_dataset",
    "write_dataset",
]

FORMAT_NAME = "galaxy-xai-dataset"
FORMAT_VERSION = 1
_STORAGE_DTYPES = {"uint8": np.uint8, "float32": np.float32}
# What h5py raises reading a damaged (truncated, overwritten) file: OSError (read
# errors), KeyError (bad object headers), RuntimeError (bad symbol tables or heaps),
# ValueError (bad JSON attributes, dtypes), TypeError (bad string types).
DAMAGED = (OSError, KeyError, RuntimeError, ValueError, TypeError)


def damaged(what: str, path: object, exc: BaseException) -> DataFormatError:
    """The one-line error for a file that opens but cannot be read."""
    detail = " ".join(str(exc).strip("'\"").split())
    return DataFormatError(f"{what} '{path}' is damaged (truncated or corrupt?): {detail}")


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _to_json(obj: Any) -> str:
    return json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o))


# --------------------------------------------------------------------------- checks
# What the readers of the dataset store and of the maps files check before they trust
# a file: a crafted file must give one clear line, never a traceback, a wrong result
# or an allocation of whatever size it declares.

#: Class indices of a ``label`` column lie in ``0..MAX_CLASSES - 1``.
MAX_CLASSES = 10_000
#: Reads smaller than this are not checked against the available memory.
_CHECK_MEMORY_ABOVE = 256 * 2**20
#: Bytes per catalogue cell of text, counted as a Python string.
_TEXT_CELL_BYTES = 64
_DATASET_METADATA_FIELDS: dict[str, Any] = {
    "kind": str,
    "format": str,
    "label_names": list[str],
    "class_names": dict[str, list[str]],
    "pixel_scale_arcsec": float,
    "preprocessing": dict,
    "provenance": dict,
    "fingerprint": str,
    "n_total": int,
    "shard": list[int],
    "index_range": list[int],
}


def _kind(dtype: np.dtype) -> str:
    """A dtype's kind letter, ``"T"`` for text (HDF5 strings, fixed or variable)."""
    return "T" if h5py.check_string_dtype(dtype) is not None else dtype.kind


def _dtype_name(dtype: np.dtype) -> str:
    return "text" if _kind(dtype) == "T" else str(dtype)


def checked_array(
    h5: h5py.Group,
    name: str,
    *,
    where: str,
    ndims: Sequence[int],
    kinds: str,
    expected: str,
    rows: tuple[int, str] | None = None,
) -> h5py.Dataset:
    """The array ``name`` of an opened file, checked before anything reads it.

    Parameters
    ----------
    h5
        The file (or a group of it).
    name
        Path of the array in ``h5`` (``"images"``, ``"catalog/id"``).
    where
        The file, for messages (``"dataset 'x.h5'"``).
    ndims
        Numbers of dimensions accepted.
    kinds
        Accepted dtype kinds (``"u"``, ``"i"``, ``"f"``, ``"b"``; ``"T"`` for text).
    expected
        What the array should be, for messages (``"(N, C, H, W) images"``).
    rows
        ``(n, what)``: the array must have ``n`` rows; ``what`` says where ``n`` comes
        from, for the message (``"'images' holds 4 images"``).

    Raises
    ------
    DataFormatError
        If it is missing, a group, a link to another file, an array whose data lie
        outside the file (external or virtual storage), of another rank, dtype or row
        count, or declares more data than the file stores (unwritten chunks).
    """
    if h5.get(name, getlink=True) is None:
        raise DataFormatError(f"{where} has no '{name}' array ({expected})")
    obj = _local_object(h5, name, where=where)
    if not isinstance(obj, h5py.Dataset):
        raise DataFormatError(f"{where}: '{name}' is a group, not an array ({expected})")
    if obj.external or obj.is_virtual:
        raise DataFormatError(
            f"{where}: '{name}' keeps its data in other files (external or virtual "
            "storage), refused"
        )
    if obj.ndim not in ndims:
        raise DataFormatError(f"{where}: '{name}' has shape {obj.shape}, expected {expected}")
    if _kind(obj.dtype) not in kinds:
        raise DataFormatError(
            f"{where}: '{name}' holds {_dtype_name(obj.dtype)} values, expected {expected}"
        )
    if rows is not None and obj.shape[0] != rows[0]:
        raise DataFormatError(
            f"{where}: '{name}' has {obj.shape[0]} rows but {rows[1]} (a damaged or crafted file)"
        )
    _check_stored(obj, name, where=where)
    return obj


def _local_object(h5: h5py.Group, name: str, *, where: str) -> Any:
    """``h5[name]``, refusing a path through a link to another file."""
    parts = name.split("/")
    for k in range(1, len(parts) + 1):
        link = h5.get("/".join(parts[:k]), getlink=True)
        if isinstance(link, h5py.ExternalLink):
            raise DataFormatError(
                f"{where}: '{name}' is a link to another file ('{link.filename}'), refused"
            )
    return h5.get(name)


def _check_stored(ds: h5py.Dataset, name: str, *, where: str) -> None:
    """Refuse an array that declares more than the file stores (reads as fill values)."""
    if ds.size == 0:
        return
    if ds.chunks is None:
        if ds.id.get_storage_size() == 0:
            raise DataFormatError(
                f"{where}: '{name}' declares shape {ds.shape} but holds no data (a damaged "
                "or crafted file)"
            )
        return
    total = math.prod(-(-s // c) for s, c in zip(ds.shape, ds.chunks, strict=True))
    stored = ds.id.get_num_chunks()
    if stored < total:
        raise DataFormatError(
            f"{where}: '{name}' declares shape {ds.shape} but only {stored} of its {total} "
            "chunks hold data (a damaged or crafted file)"
        )


def json_attribute(h5: h5py.Group, name: str, *, where: str, default: Any, kind: type) -> Any:
    """The JSON attribute ``name`` of a file, parsed, of type ``kind`` (``dict``, ``list``).

    Raises
    ------
    DataFormatError
        If it is not text, not valid JSON or not of that type.
    """
    raw = h5.attrs.get(name)
    if raw is None:
        return default
    if isinstance(raw, np.ndarray) and raw.shape == ():
        raw = raw[()]
    if isinstance(raw, bytes | np.bytes_):
        raw = bytes(raw).decode("utf-8", "backslashreplace")
    noun = "object" if kind is dict else kind.__name__
    if not isinstance(raw, str):
        raise DataFormatError(
            f"{where}: attribute '{name}' holds {type(raw).__name__}, not a JSON {noun}"
        )
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise DataFormatError(f"{where}: attribute '{name}' is not valid JSON ({exc})") from None
    if not isinstance(value, kind):
        raise DataFormatError(
            f"{where}: attribute '{name}' holds a JSON {type(value).__name__}, not a JSON {noun}"
        )
    return value


def bytes_per_row(ds: h5py.Dataset) -> int:
    """Memory one row of ``ds`` takes once read (text cells as Python strings)."""
    cells = math.prod(ds.shape[1:])
    return cells * (_TEXT_CELL_BYTES if _kind(ds.dtype) == "T" else ds.dtype.itemsize)


def check_memory(count: int, bytes_each: int, *, where: str, what: str, noun: str) -> None:
    """Refuse a read of ``count`` items of ``bytes_each`` that cannot fit in memory.

    Parameters
    ----------
    count, bytes_each
        Items to read and the memory each takes once read.
    where
        The file, for messages.
    what
        The read, for messages (``"reading 10 images of 3x512x512"``).
    noun
        What an item is (``"images"``), for the count that fits.

    Raises
    ------
    DataFormatError
        Saying how much the read needs, how much memory is available and how many
        items fit.
    """
    needed = count * bytes_each
    if needed <= _CHECK_MEMORY_ABOVE:
        return
    from galaxy_xai.resources import available_memory_bytes, format_bytes

    memory = available_memory_bytes()
    if memory is not None and needed > memory:
        raise DataFormatError(
            f"{where}: {what} needs ~{format_bytes(needed)} of memory but {format_bytes(memory)} is "
            f"available: about {memory // max(bytes_each, 1)} {noun} fit at once"
        )


# --------------------------------------------------------------------------- HDF5 files
# What the dataset store and the maps files of ``galaxy_xai.explain.maps_io`` share.
@dataclass(frozen=True)
class FileFormat:
    """A kind of galaxy-xai HDF5 file, as :func:`open_format_file` checks and names it.

    Attributes
    ----------
    name : str
        Value of the file's ``format`` attribute.
    required : str
        A dataset every such file holds (e.g. ``"images"``).
    what : str
        The kind of file in messages (``"dataset"``, ``"maps file"``).
    made_by : str
        The command(s) that write such a file, quoted, for the wrong-format message.
    unreadable : str
        How the message about an unreadable file goes on after the path.
    interrupted : str
        What a leftover ``.partial`` file means, for the missing-file message.
    """

    name: str
    required: str
    what: str
    made_by: str
    unreadable: str = "is not a readable HDF5 file"
    interrupted: str = "the job was interrupted"


def open_format_file(path: Path, fmt: FileFormat) -> h5py.File:
    """Open a finished galaxy-xai HDF5 file of format ``fmt`` for reading.

    Raises
    ------
    DataMissingError
        If the file does not exist (saying so when only a partial file exists).
    DataFormatError
        If it is empty, truncated or not HDF5, or not of that format.
    """
    if not path.is_file():
        hint = (
            f" (an unfinished '.partial' file exists: {fmt.interrupted})"
            if partial_path(path).exists()
            else ""
        )
        raise DataMissingError(f"{fmt.what} '{path}' does not exist{hint}")
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        detail = " ".join(str(exc).split())
        if path.stat().st_size == 0:
            detail = "the file is empty (0 bytes)"
        raise DataFormatError(f"{fmt.what} '{path}' {fmt.unreadable}: {detail}") from exc
    try:
        right_format = h5.attrs.get("format") == fmt.name and fmt.required in h5
    except DAMAGED as exc:
        h5.close()
        raise damaged(fmt.what, path, exc) from None
    if not right_format:
        h5.close()
        raise DataFormatError(
            f"'{path}' is not a galaxy-xai {fmt.what} (write one with {fmt.made_by})"
        )
    return h5


_DATASET_FILE = FileFormat(
    FORMAT_NAME, "images", "dataset", "'galaxy-xai data import' or 'galaxy-xai simulate'"
)


class OpenedFile:
    """Base of the read-only file objects: checked open, ``close`` and the context manager."""

    path: Path
    _h5: h5py.File

    def _open_checked(
        self, path: str | os.PathLike[str], fmt: FileFormat, read_layout: Callable[[], None]
    ) -> None:
        """Open ``path`` as a ``fmt`` file and run ``read_layout``, closing it on failure.

        A read error of the layout (damaged file) becomes one
        :class:`~galaxy_xai.errors.DataFormatError` naming the file.

        Raises
        ------
        DataMissingError
            If the file does not exist (see :func:`open_format_file`).
        DataFormatError
            If it is not a readable ``fmt`` file, or ``read_layout`` finds it damaged.
        """
        self.path = Path(path)
        self._h5 = open_format_file(self.path, fmt)
        try:
            read_layout()
        except GalaxyXAIError:
            self._h5.close()
            raise
        except DAMAGED as exc:
            self._h5.close()
            raise damaged(fmt.what, self.path, exc) from None

    def close(self) -> None:
        if self._h5.id.valid:
            self._h5.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class PartialWriter:
    """Base of the resumable writers: ``<path>.partial`` until it is finished.

    Subclasses call :meth:`_open_partial` from ``__init__``, define
    :meth:`_compatible_partial`, and call :meth:`_finish` from ``close``; the partial
    file holds a boolean ``_written`` mask while being written.
    """

    path: Path
    partial: Path
    _h5: h5py.File
    _lock: OutputLock | None = None

    def _open_partial(self, path: str | os.PathLike[str], *, resume: bool) -> bool:
        """Reopen a compatible partial file of ``path`` (True) or start a fresh one (False).

        Sets :attr:`path` and :attr:`partial`, makes the output folder and takes the
        exclusive lock on the partial file (held until :meth:`_finish` or :meth:`abort`)
        before touching it.

        Raises
        ------
        OutputBusyError
            If another process is writing ``path`` now; nothing is touched then.
        """
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = OutputLock(self.path).acquire()
        try:
            if resume and self.partial.exists() and self._compatible_partial():
                self._h5 = h5py.File(self.partial, "a")
                return True
            self.partial.unlink(missing_ok=True)
            self._h5 = h5py.File(self.partial, "w")
        except BaseException:
            self._lock.release()
            raise
        return False

    def _compatible_partial(self) -> bool:
        """Whether the partial file on disk was started with these settings."""
        raise NotImplementedError

    @property
    def written(self) -> np.ndarray:
        """Boolean mask (N,) of rows already written (True after a resume too)."""
        return np.asarray(self._h5["_written"][:], dtype=bool)

    def missing_indices(self) -> np.ndarray:
        """Indices of rows not yet written (all of them for a fresh file)."""
        return np.flatnonzero(~self.written)

    def _finish(self, metadata: dict[str, Any]) -> Path:
        """Save ``metadata`` (with a ``created`` time), drop the mask, rename to the path."""
        meta = dict(metadata)
        meta.setdefault("created", _now())
        self._h5.attrs["metadata"] = _to_json(meta)
        del self._h5["_written"]
        self._h5.close()
        os.replace(self.partial, self.path)
        self._release_lock()
        return self.path

    def abort(self) -> None:
        """Close without finishing (the partial file stays for a resume) and unlock it."""
        try:
            if getattr(self, "_h5", None) is not None and self._h5.id.valid:
                self._h5.close()
        finally:
            self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()

    def close(self) -> Path:
        """Finish the file and return its final path.

        Raises
        ------
        NotImplementedError
            Always, on the base class: each writer finishes its own file.
        """
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            try:
                self.close()
            except BaseException:
                self.abort()  # e.g. rows missing: keep the partial, drop the lock
                raise
        else:
            self.abort()


# --------------------------------------------------------------------------- writing
class DatasetWriter(PartialWriter):
    """Write N images and their catalogue rows into a dataset file, in any order.

    Parameters
    ----------
    path
        Final output path (``.h5``). Written as ``<path>.partial`` until complete.
    n_images
        Total number of rows the finished file will hold.
    image_shape
        ``(C, H, W)`` of every image.
    storage_dtype
        ``"uint8"`` for 8-bit sources (JPEG-like, stored exactly, read back as float32
        in [0, 1]) or ``"float32"`` for linear data (FITS counts, simulations).
    metadata
        JSON-serialisable mapping saved as the ``metadata`` attribute (see module doc).
    resume
        Reopen an existing partial file instead of starting afresh. Its ``n_images``,
        ``image_shape``, ``storage_dtype`` and ``fingerprint`` must match.
    fingerprint
        A string identifying the job's inputs and settings (e.g. a hash of the
        config); a partial file with another fingerprint is not resumed.

    Raises
    ------
    OutputBusyError
        If another process is writing ``path`` now: the partial file is held under an
        exclusive lock (``<path>.partial.lock``) from here until the writer finishes
        or aborts.
    ParameterError
        On an impossible row count, image shape or storage dtype.

    Examples
    --------
    >>> with DatasetWriter("x.h5", n_images=2, image_shape=(1, 8, 8)) as w:  # doctest: +SKIP
    ...     w.write(0, images, catalog_rows)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        n_images: int,
        image_shape: Sequence[int],
        storage_dtype: str = "float32",
        metadata: dict[str, Any] | None = None,
        resume: bool = False,
        fingerprint: str = "",
    ) -> None:
        if n_images < 0:
            raise ParameterError("n_images", n_images, "must be >= 0")
        if len(image_shape) != 3 or min(image_shape) < 1:
            raise ParameterError("image_shape", tuple(image_shape), "must be (C, H, W), all >= 1")
        if storage_dtype not in _STORAGE_DTYPES:
            raise ParameterError(
                "storage_dtype", storage_dtype, f"must be one of {sorted(_STORAGE_DTYPES)}"
            )
        self.n_images = int(n_images)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.storage_dtype = storage_dtype
        self.metadata = dict(metadata or {})
        self.fingerprint = fingerprint
        self._rows: dict[int, dict[str, Any]] = {}
        resumed = self._open_partial(path, resume=resume)
        try:
            if resumed:
                self._load_pending_rows()
            else:
                self._create_layout()
        except BaseException:
            self.abort()
            raise

    # layout -------------------------------------------------------------------------
    def _create_layout(self) -> None:
        h5 = self._h5
        chunks = (1, *self.image_shape) if self.n_images else None
        h5.create_dataset(
            "images",
            shape=(self.n_images, *self.image_shape),
            dtype=_STORAGE_DTYPES[self.storage_dtype],
            chunks=chunks,
            maxshape=(None, *self.image_shape) if self.n_images else None,
            compression="lzf" if self.n_images else None,
        )
        h5.create_dataset(
            "_written",
            shape=(self.n_images,),
            dtype=bool,
            chunks=(min(self.n_images, 65536),) if self.n_images else None,
            maxshape=(None,) if self.n_images else None,
        )
        h5.create_group("_pending_rows")
        h5.attrs["format"] = FORMAT_NAME
        h5.attrs["format_version"] = FORMAT_VERSION
        h5.attrs["storage_dtype"] = self.storage_dtype
        h5.attrs["fingerprint"] = self.fingerprint
        h5.attrs["started"] = _now()

    def _compatible_partial(self) -> bool:
        try:
            with h5py.File(self.partial, "r") as h5:
                return (
                    h5.attrs.get("format") == FORMAT_NAME
                    and "_written" in h5
                    and tuple(h5["images"].shape) == (self.n_images, *self.image_shape)
                    and h5.attrs.get("storage_dtype") == self.storage_dtype
                    and h5.attrs.get("fingerprint", "") == self.fingerprint
                )
        except OSError:
            return False

    def _load_pending_rows(self) -> None:
        for name, ds in self._h5["_pending_rows"].items():
            start = int(name)
            for offset, row in enumerate(json.loads(ds[()].decode())):
                self._rows[start + offset] = row

    # writing ------------------------------------------------------------------------
    def write(
        self, start: int, images: np.ndarray, rows: pd.DataFrame | Sequence[dict[str, Any]]
    ) -> None:
        """Write a contiguous block of images and catalogue rows starting at ``start``.

        Parameters
        ----------
        start
            Row index of the first image of the block.
        images
            ``(B, C, H, W)`` array; float values for uint8 storage must lie in [0, 1]
            (or be uint8 already).
        rows
            ``B`` catalogue rows (DataFrame or list of dicts), one per image.

        Raises
        ------
        DataFormatError
            If ``images`` is not ``(B, C, H, W)`` with this file's ``(C, H, W)``, the number
            of ``rows`` differs from ``B``, or a pixel is NaN or infinite.
        ParameterError
            If the block ``start:start + B`` does not lie within ``0:n_images``.
        """
        images = np.asarray(images)
        records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else list(rows)
        if images.ndim != 4 or tuple(images.shape[1:]) != self.image_shape:
            raise DataFormatError(
                f"images for rows {start}..: shape {images.shape} does not match (B, {self.image_shape})"
            )
        if len(records) != len(images):
            raise DataFormatError(f"{len(images)} images but {len(records)} catalogue rows")
        stop = start + len(images)
        if start < 0 or stop > self.n_images:
            raise ParameterError("start", start, f"block {start}:{stop} outside 0:{self.n_images}")
        if not np.all(np.isfinite(images)):
            bad = int(np.flatnonzero(~np.isfinite(images.reshape(len(images), -1)).all(1))[0])
            raise DataFormatError(
                f"row {start + bad} (id {records[bad].get('id')!r}): NaN or infinite pixels"
            )
        self._h5["images"][start:stop] = self._encode(images)
        payload = json.dumps([{k: _plain(v) for k, v in r.items()} for r in records])
        grp = self._h5["_pending_rows"]
        if str(start) in grp:
            del grp[str(start)]
        grp.create_dataset(str(start), data=np.bytes_(payload.encode()))
        self._h5["_written"][start:stop] = True
        for i, row in enumerate(records):
            self._rows[start + i] = row
        self._h5.flush()

    def _encode(self, images: np.ndarray) -> np.ndarray:
        if self.storage_dtype == "float32":
            return images.astype(np.float32, copy=False)
        if images.dtype == np.uint8:
            return images
        return np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)

    def truncate(self, n_images: int) -> None:
        """Shrink the file to its first ``n_images`` rows (e.g. after skipping bad items).

        Rows at or beyond ``n_images`` are dropped, written or not.

        Raises
        ------
        ParameterError
            If ``n_images`` is negative or larger than the current row count.
        DataFormatError
            If the partial file was written with a fixed number of rows, so it cannot shrink.
        """
        if not 0 <= n_images <= self.n_images:
            raise ParameterError("n_images", n_images, f"must lie in 0..{self.n_images}")
        if n_images == self.n_images:
            return
        if self._h5["images"].maxshape[0] is not None:
            raise DataFormatError(f"'{self.partial}' was written without resizable rows")
        self._h5["images"].resize(n_images, axis=0)
        self._h5["_written"].resize((n_images,))
        grp = self._h5["_pending_rows"]
        for name in list(grp):
            if int(name) >= n_images:
                del grp[name]
            elif int(name) + len(json.loads(grp[name][()].decode())) > n_images:
                rows = json.loads(grp[name][()].decode())[: n_images - int(name)]
                del grp[name]
                grp.create_dataset(name, data=np.bytes_(json.dumps(rows).encode()))
        self._rows = {i: r for i, r in self._rows.items() if i < n_images}
        self.n_images = int(n_images)
        self._h5.flush()

    def close(self) -> Path:
        """Finish the file: write the catalogue and rename to the final path.

        Raises
        ------
        DataFormatError
            If rows are missing or ids are duplicated; the partial file is kept.
        """
        missing = self.missing_indices()
        if len(missing):
            self._h5.flush()
            raise DataFormatError(
                f"'{self.path}': {len(missing)} of {self.n_images} rows were never written "
                f"(first: {missing[:5].tolist()}); partial output kept at '{self.partial}'"
            )
        catalog = pd.DataFrame([self._rows[i] for i in range(self.n_images)])
        for col in catalog.columns:  # all-NaN float columns come back from JSON as None
            if catalog[col].dtype == object and catalog[col].isna().all():
                catalog[col] = np.nan
        if self.n_images and "id" not in catalog.columns:
            raise DataFormatError(f"'{self.path}': catalogue rows have no 'id' column")
        if self.n_images:
            catalog["id"] = catalog["id"].astype(str)
            dup = catalog["id"][catalog["id"].duplicated()]
            if len(dup):
                raise DataFormatError(
                    f"'{self.path}': duplicate id(s) {dup.head(5).tolist()} at row(s) {dup.index[:5].tolist()}"
                )
        _check_labels(catalog, where=f"'{self.path}'")
        _write_catalog(self._h5, catalog)
        del self._h5["_pending_rows"]
        return self._finish(self.metadata)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return None  # JSON has no NaN; restored as NaN in float columns
    if isinstance(value, Path):
        return str(value)
    return value


def _check_labels(catalog: pd.DataFrame, *, where: str) -> None:
    """Refuse an integer ``label`` column with a value outside ``0..MAX_CLASSES - 1``."""
    if "label" not in catalog.columns or not pd.api.types.is_integer_dtype(catalog["label"]):
        return
    values = catalog["label"].to_numpy()
    bad = np.flatnonzero((values < 0) | (values >= MAX_CLASSES))
    if len(bad):
        j = int(bad[0])
        ident = f" (id {catalog['id'].iloc[j]!r})" if "id" in catalog.columns else ""
        raise DataFormatError(
            f"{where} row {j}{ident}: label {values[j]} is not a class index "
            f"0..{MAX_CLASSES - 1} (at most {MAX_CLASSES} classes)"
        )


def _write_catalog(h5: h5py.File, catalog: pd.DataFrame) -> None:
    grp = h5.require_group("catalog")
    for col in catalog.columns:
        series = catalog[col]
        if pd.api.types.is_bool_dtype(series):
            data = series.to_numpy(dtype=bool)
        elif pd.api.types.is_integer_dtype(series):
            data = series.to_numpy(dtype=np.int64)
        elif pd.api.types.is_numeric_dtype(series):
            data = series.to_numpy(dtype=np.float64)
        else:
            values = [
                "" if v is None or (isinstance(v, float) and v != v) else str(v) for v in series
            ]
            data = np.array(values, dtype=h5py.string_dtype("utf-8"))
        grp.create_dataset(str(col), data=data)
    h5.attrs["columns"] = json.dumps([str(c) for c in catalog.columns])


def write_dataset(
    path: str | os.PathLike[str],
    images: np.ndarray,
    catalog: pd.DataFrame,
    *,
    storage_dtype: str = "float32",
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write an in-memory ``(N, C, H, W)`` array and its catalogue in one call.

    Raises
    ------
    ParameterError
        If ``images`` is not 4-D ``(N, C, H, W)``, or ``storage_dtype`` is not
        ``"uint8"`` or ``"float32"``.
    DataFormatError
        If ``catalog`` does not have one row per image, or a pixel is NaN or infinite.
    OutputBusyError
        If another process is writing ``path`` now.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ParameterError("images", images.shape, "must be (N, C, H, W)")
    with DatasetWriter(
        path,
        n_images=len(images),
        image_shape=images.shape[1:],
        storage_dtype=storage_dtype,
        metadata=metadata,
    ) as writer:
        if len(images):
            writer.write(0, images, catalog.reset_index(drop=True))
    return Path(path)


# --------------------------------------------------------------------------- reading
def read_rows(dataset: h5py.Dataset, rows: np.ndarray) -> np.ndarray:
    """Rows of an HDF5 dataset in any order, with repeats, in one read.

    h5py's fancy indexing needs increasing, unique indices; this sorts and de-duplicates
    ``rows`` (integers), reads once, and restores the requested order.
    """
    rows = np.asarray(rows, dtype=np.int64)
    order = np.argsort(rows)
    uniq, inverse = np.unique(rows[order], return_inverse=True)
    block = dataset[uniq] if len(uniq) else np.zeros((0, *dataset.shape[1:]), dataset.dtype)
    out = np.empty((len(rows), *dataset.shape[1:]), dtype=block.dtype)
    out[order] = block[inverse]
    return out


class LazyArray:
    """Base of the lazy read-only views of an HDF5 dataset: ``len`` and ``numpy.asarray``.

    Subclasses set ``shape``, ``_where`` (the file, for messages), ``_noun`` (what a
    row is) and call :meth:`_check_read` before reading, so that no read allocates
    more than the memory available.
    """

    shape: tuple[int, ...]
    _where: str = "file"
    _noun: str = "rows"
    #: Memory one row takes while read: the stored values plus the float32 copy.
    _bytes_each: int = 0

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        raise NotImplementedError

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self[:]
        return arr if dtype is None else arr.astype(dtype)

    def _count(self, key: Any) -> int:
        """How many rows indexing with ``key`` reads."""
        first = key[0] if isinstance(key, tuple) else key
        if isinstance(first, slice):
            return len(range(*first.indices(self.shape[0])))
        if isinstance(first, int | np.integer):
            return 1
        index = np.asarray(first)
        return int(index.sum()) if index.dtype == bool else int(index.size)

    def _check_read(self, key: Any) -> None:
        """Refuse a read that cannot fit in memory (see :func:`check_memory`)."""
        count = self._count(key)
        item = "x".join(map(str, self.shape[1:]))
        check_memory(
            count,
            self._bytes_each,
            where=self._where,
            what=f"reading {count} {self._noun} of {item}",
            noun=self._noun,
        )


class ImageArray(LazyArray):
    """Lazy ``(N, C, H, W)`` float32 view of the ``/images`` dataset.

    Indexing with an int, slice, or integer array reads only those images; a read
    larger than the memory available is refused, saying how many images fit.
    """

    _noun = "images"

    def __init__(self, dataset: h5py.Dataset) -> None:
        self._ds = dataset
        self._filename = str(dataset.file.filename)
        self._where = f"dataset '{self._filename}'"
        self._scale = 1.0 / 255.0 if dataset.dtype == np.uint8 else None
        self.shape: tuple[int, ...] = tuple(dataset.shape)
        self.dtype = np.dtype(np.float32)
        self._bytes_each = math.prod(self.shape[1:]) * (dataset.dtype.itemsize + 4)

    def __getitem__(self, key: Any) -> np.ndarray:
        self._check_read(key)
        if isinstance(key, np.ndarray | list) and not isinstance(key, slice):
            idx = np.asarray(key)
            if idx.dtype == bool:
                idx = np.flatnonzero(idx)
            if idx.size == 0:
                return np.zeros((0, *self.shape[1:]), np.float32)
            try:
                out = read_rows(self._ds, idx)
            except (OSError, KeyError, RuntimeError, TypeError) as exc:
                raise damaged("dataset", self._filename, exc) from None
        else:
            try:
                out = self._ds[key]
            except (OSError, KeyError, RuntimeError, TypeError) as exc:
                raise damaged("dataset", self._filename, exc) from None
        out = np.asarray(out)
        if self._scale is not None:
            return out.astype(np.float32) * np.float32(self._scale)
        return out.astype(np.float32, copy=False)


class GalaxyDataset(OpenedFile):
    """An opened dataset file: lazy ``images`` and an in-memory ``catalog``.

    The layout is checked on opening (see :func:`checked_array`): ``images`` must be
    a 4-D uint8 or float array whose data the file holds, every catalogue column a
    1-D array with one row per image, ``id`` text and unique, ``label`` (if integer)
    within ``0..MAX_CLASSES - 1``, and ``metadata`` a JSON object whose known fields
    have the right types; a crafted or damaged file gives one
    :class:`~galaxy_xai.errors.DataFormatError` naming it.

    Attributes
    ----------
    path : Path
    images : ImageArray
        ``(N, C, H, W)`` float32, read lazily.
    catalog : pandas.DataFrame
        One row per image, same order; always has an ``id`` column (str).
    metadata : dict
        Preprocessing, provenance, label names and anything the writer recorded.

    Raises
    ------
    DataMissingError
        If ``path`` does not exist.
    DataFormatError
        If the file is not a readable galaxy-xai dataset: not HDF5, damaged, or with
        images, catalogue or metadata that break the layout above.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._open_checked(path, _DATASET_FILE, self._read_layout)

    def _read_layout(self) -> None:
        """Check and read ``metadata`` and the catalogue; open ``images`` lazily."""
        where = f"dataset '{self.path}'"
        images = _checked_images(self._h5, where=where)
        self.metadata: dict[str, Any] = json_attribute(
            self._h5, "metadata", where=where, default={}, kind=dict
        )
        check_json_fields(self.metadata, _DATASET_METADATA_FIELDS, where=f"{self.path}:metadata")
        self.catalog = _read_catalog(self._h5, len(images), where=where)
        self.images = ImageArray(images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of every image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    @property
    def label_names(self) -> list[str] | None:
        """Class names of the integer ``label`` column, or None."""
        names = self.metadata.get("label_names")
        return list(names) if names else None

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return f"GalaxyDataset('{self.path}', n={len(self)}, image_shape={self.image_shape})"

    def require_images(self, purpose: str) -> None:
        """Refuse an empty dataset before a command does nothing with it.

        Raises
        ------
        DataFormatError
            If the file holds no image.
        """
        if len(self) == 0:
            raise DataFormatError(
                f"dataset '{self.path}' has no galaxies (it holds no images); nothing to "
                f"{purpose} (was every image skipped at import? see 'galaxy-xai data info')"
            )

    def torch_dataset(
        self,
        target: str | Sequence[str] | None = "label",
        *,
        indices: Iterable[int] | None = None,
        target_dtype: str = "auto",
    ) -> TorchGalaxyDataset:
        """A ``torch.utils.data.Dataset`` over (some of) this file, read lazily.

        See :class:`TorchGalaxyDataset`.
        """
        return TorchGalaxyDataset(
            self.path, target=target, indices=indices, target_dtype=target_dtype
        )


def _checked_images(h5: h5py.File, *, where: str) -> h5py.Dataset:
    """The ``/images`` array: 4-D, uint8 or float pixels, images of >= 1 pixel, stored."""
    expected = "(N, C, H, W) images of uint8 or float32 pixels"
    images = checked_array(h5, "images", where=where, ndims=(4,), kinds="uf", expected=expected)
    if images.dtype.kind == "u" and images.dtype != np.uint8:
        raise DataFormatError(f"{where}: 'images' holds {images.dtype} values, expected {expected}")
    if min(images.shape[1:]) < 1:
        raise DataFormatError(f"{where}: 'images' has shape {images.shape}, expected {expected}")
    return images


def _read_catalog(h5: h5py.File, n: int, *, where: str) -> pd.DataFrame:
    """The catalogue of ``n`` images, checked (see :class:`GalaxyDataset`)."""
    if "catalog" in h5 and not isinstance(_local_object(h5, "catalog", where=where), h5py.Group):
        raise DataFormatError(f"{where}: 'catalog' is an array, not a group of columns")
    if "catalog" not in h5:
        check_memory(n, _TEXT_CELL_BYTES, where=where, what=f"the ids of {n} images", noun="rows")
        return pd.DataFrame({"id": [str(i) for i in range(n)]})
    columns = json_attribute(h5, "columns", where=where, default=[], kind=list)
    if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
        raise DataFormatError(
            f"{where}: attribute 'columns' must list distinct column names, found {columns!r}"
        )
    rows = (n, f"'images' holds {n} images")
    arrays = {
        col: checked_array(
            h5,
            f"catalog/{col}",
            where=where,
            ndims=(1,),
            kinds="T" if col == "id" else "biufT",
            expected="text ids, one per image" if col == "id" else "one value per image",
            rows=rows,
        )
        for col in columns
    }
    each = sum(bytes_per_row(ds) for ds in arrays.values())
    check_memory(n, each, where=where, what=f"its catalogue of {n} rows", noun="rows")
    data: dict[str, Any] = {}
    for col, ds in arrays.items():
        if _kind(ds.dtype) == "T":
            data[col] = ds.asstr(errors="backslashreplace")[:].astype(object)
        else:
            data[col] = ds[:]
    catalog = pd.DataFrame(data, columns=columns)
    if "id" not in catalog.columns:
        if n:
            raise DataFormatError(f"{where}: the catalogue has no 'id' column")
        catalog.insert(0, "id", pd.Series([], dtype=object))
    dup = catalog["id"][catalog["id"].duplicated()]
    if len(dup):
        raise DataFormatError(
            f"{where}: id {dup.iloc[0]!r} appears more than once (rows "
            f"{np.flatnonzero((catalog['id'] == dup.iloc[0]).to_numpy()).tolist()[:5]})"
        )
    _check_labels(catalog, where=where)
    return catalog


def open_dataset(path: str | os.PathLike[str]) -> GalaxyDataset:
    """Open a dataset written by ``galaxy-xai data import`` or ``galaxy-xai simulate``.

    Raises
    ------
    DataMissingError
        If the file does not exist (the message says when only a partial file exists).
    DataFormatError
        If it is not a galaxy-xai dataset.
    """
    return GalaxyDataset(path)


class TorchGalaxyDataset:
    """A map-style torch Dataset over a dataset file, safe for DataLoader workers and DDP.

    The HDF5 file is opened lazily in each process, so the object pickles cheaply.

    Parameters
    ----------
    path
        Dataset file.
    target
        Catalogue column(s) returned as the target: one column name (int -> class index
        tensor, float -> scalar), a list of columns (float vector, e.g. vote fractions),
        or None (returns a dummy 0).
    indices
        Subset of rows (e.g. a split); default all.
    target_dtype
        ``"auto"``, ``"long"`` or ``"float"``.

    Items are ``(image (C, H, W) float32 tensor, target tensor)``.

    Raises
    ------
    DataMissingError
        If ``path`` does not exist.
    DataFormatError
        If ``path`` is not a readable dataset (see :class:`GalaxyDataset`), or a
        ``target`` column is missing from its catalogue or has an empty value.
    ParameterError
        If an index of ``indices`` lies outside ``0..N-1``, or ``target_dtype`` is not
        ``"auto"``, ``"long"`` or ``"float"``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        target: str | Sequence[str] | None = "label",
        indices: Iterable[int] | None = None,
        target_dtype: str = "auto",
    ) -> None:
        import torch

        self.path = Path(path)
        with GalaxyDataset(self.path) as ds:
            n = len(ds)
            cat = ds.catalog
            self.image_shape = ds.image_shape
        self.indices = (
            np.arange(n) if indices is None else np.asarray(list(indices), dtype=np.int64)
        )
        if len(self.indices) and (self.indices.min() < 0 or self.indices.max() >= n):
            raise ParameterError(
                "indices", f"[{self.indices.min()}, {self.indices.max()}]", f"outside 0..{n - 1}"
            )
        if target is None:
            values = np.zeros(n, dtype=np.int64)
        else:
            cols = [target] if isinstance(target, str) else list(target)
            missing = [c for c in cols if c not in cat.columns]
            if missing:
                raise DataFormatError(
                    f"dataset '{self.path}' has no column(s) {missing} (found: {', '.join(cat.columns)})"
                )
            block = cat[cols]
            if block.isna().to_numpy().any():
                bad = int(np.flatnonzero(block.isna().to_numpy().any(1))[0])
                raise DataFormatError(
                    f"dataset '{self.path}': row {bad} has a missing value in {cols}"
                )
            values = block.to_numpy()
            if isinstance(target, str):
                values = values[:, 0]
        if target_dtype == "auto":
            target_dtype = (
                "long" if np.issubdtype(np.asarray(values).dtype, np.integer) else "float"
            )
        if target_dtype not in ("long", "float"):
            raise ParameterError("target_dtype", target_dtype, "must be 'auto', 'long' or 'float'")
        dtype = torch.long if target_dtype == "long" else torch.float32
        self.targets = torch.tensor(
            np.array(values, dtype=np.int64 if dtype == torch.long else np.float32)
        )
        self._h5: h5py.File | None = None
        self._images: ImageArray | None = None

    def __len__(self) -> int:
        return len(self.indices)

    def _open(self) -> ImageArray:
        if self._images is None:
            self._h5 = h5py.File(self.path, "r")
            self._images = ImageArray(self._h5["images"])
        return self._images

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        import torch

        row = int(self.indices[i])
        image = self._open()[row]
        return torch.from_numpy(image), self.targets[row]

    def load_all(self) -> tuple[Any, Any]:
        """All selected images and targets as two tensors (for small sets)."""
        import torch

        images = (
            self._open()[self.indices]
            if len(self.indices)
            else np.zeros((0, *self.image_shape), np.float32)
        )
        return torch.from_numpy(images), self.targets[torch.as_tensor(self.indices)]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_h5"] = None
        state["_images"] = None
        return state
