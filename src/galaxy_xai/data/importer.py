"""``galaxy-xai data import``: any reader into one dataset store file.

The importer reads the catalogue (checked up front), then decodes images in chunks,
in this process or a pool of worker processes, and writes them in catalogue order
through :class:`~galaxy_xai.data.store.DatasetWriter` (a ``.partial`` file renamed
when complete). After every chunk it saves its progress beside the partial file
(``<out>.partial.state.json``), so ``resume=True`` continues an interrupted import.

Bad items (missing or corrupt files, NaN pixels, wrong band count, images whose
header declares more than :data:`~galaxy_xai.data.images.MAX_IMAGE_PIXELS`) raise a
:class:`~galaxy_xai.errors.GalaxyXAIError` naming the file; with ``skip_bad`` they are
left out of the store, counted in its provenance and listed (``id,file,reason``) in
``<out>.skipped.csv``.

A catalogue naming a file outside the source folder (``..``, an absolute path, a
symlink out of it) is refused up front, with or without ``skip_bad``: reading files
the user did not point at is a security matter, not a bad image, and skipping them
quietly would hide a hostile catalogue. ``allow_outside_root=True``
(``--allow-outside-root``) accepts them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from itertools import islice
from pathlib import Path
from typing import Any, cast

import numpy as np

from galaxy_xai.data.images import safe_text
from galaxy_xai.data.preprocess import Preprocess
from galaxy_xai.data.readers import READERS, ImageSource
from galaxy_xai.data.store import DatasetWriter
from galaxy_xai.errors import DataFormatError, DataMissingError, GalaxyXAIError, ParameterError
from galaxy_xai.io import atomic_output, partial_path, write_json
from galaxy_xai.progress import progress
from galaxy_xai.sharding import worker_pool

__all__ = ["FORMATS", "import_dataset", "open_source", "skipped_log_path"]

log = logging.getLogger(__name__)

#: Format names accepted by :func:`import_dataset` and ``galaxy-xai data import``.
FORMATS = tuple(READERS)
_SKIPPABLE = (DataFormatError, DataMissingError)


def skipped_log_path(out: str | os.PathLike[str]) -> Path:
    """Where the list of skipped items of an import to ``out`` is written."""
    out = Path(out)
    return out.with_name(out.name + ".skipped.csv")


def _state_path(out: Path) -> Path:
    """Where the progress of an import to ``out`` is saved (beside the partial file)."""
    return partial_path(out).with_name(partial_path(out).name + ".state.json")


def open_source(
    fmt: str,
    source: str | os.PathLike[str],
    *,
    skip_bad: bool = False,
    pattern: str | None = None,
    allow_outside_root: bool = False,
) -> ImageSource:
    """Open ``source`` with the reader of format ``fmt`` (see :data:`FORMATS`).

    ``allow_outside_root`` lets the catalogue name files outside ``source`` (see the
    module doc); every reader accepts it.

    Raises
    ------
    ParameterError
        On an unknown format, or ``pattern`` with a format other than ``fits``.
    DataMissingError, DataFormatError
        From the reader, on a missing or malformed source.
    """
    if fmt not in READERS:
        raise ParameterError("format", fmt, f"must be one of {', '.join(FORMATS)}")
    kwargs: dict[str, Any] = {"skip_bad": skip_bad, "allow_outside_root": allow_outside_root}
    if pattern is not None:
        if fmt != "fits":
            raise ParameterError("pattern", pattern, "only applies to the 'fits' format")
        kwargs["pattern"] = pattern
    return READERS[fmt](source, **kwargs)


# --------------------------------------------------------------------------- decoding
_worker_state: tuple[ImageSource, Preprocess, bool, tuple[int, ...] | None] | None = None


def _init_worker(
    source: ImageSource, prep: Preprocess, skip_bad: bool, shape: tuple[int, ...] | None
) -> None:
    """Give this (worker) process what :func:`_decode_chunk` needs."""
    global _worker_state
    _worker_state = (source, prep, skip_bad, shape)


def _decode_one(
    source: ImageSource, i: int, prep: Preprocess, shape: tuple[int, ...] | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Item ``i`` prepared for the store, with its extra catalogue columns.

    Raises
    ------
    DataFormatError
        If its shape differs from ``shape`` (the first image's), or from the reader.
    DataMissingError
        From the reader, for a missing file.
    """
    image, extras = source.prepare(i, prep)
    if shape is not None and tuple(image.shape) != shape:
        raise DataFormatError(
            f"{source.fmt} item {source.catalog.at[i, 'id']!r} ('{source.file_of(i)}'): "
            f"image shape {tuple(image.shape)} differs from the first image's {shape} "
            "(different band count? use --channels gray or rgb)"
        )
    return image, extras


def _decode_chunk(indices: Sequence[int]) -> list[tuple[int, Any, Any]]:
    """Decode items; each result is ``(i, image, extras)``, ``(i, None, reason)`` for a
    skipped item, or ``(i, "raise", (error class, args))`` to re-raise in the parent."""
    if _worker_state is None:  # pragma: no cover - set by _init_worker
        raise RuntimeError("decoding worker used before _init_worker")
    source, prep, skip_bad, shape = _worker_state
    out: list[tuple[int, Any, Any]] = []
    for i in indices:
        try:
            image, extras = _decode_one(source, i, prep, shape)
        except _SKIPPABLE as exc:
            if not skip_bad:
                out.append((i, "raise", (type(exc), (str(exc),))))
                return out
            out.append((i, None, str(exc)))
        except ParameterError as exc:
            out.append((i, "raise", (ParameterError, (exc.name, exc.value, exc.reason))))
            return out
        except GalaxyXAIError as exc:
            out.append((i, "raise", (type(exc), (str(exc),))))
            return out
        else:
            out.append((i, image, extras))
    return out


def _chunks(start: int, stop: int, size: int) -> Iterator[list[int]]:
    """Consecutive lists of at most ``size`` indices covering ``start .. stop - 1``."""
    for a in range(start, stop, size):
        yield list(range(a, min(a + size, stop)))


def _decoded(
    source: ImageSource,
    chunks: Iterator[list[int]],
    *,
    prep: Preprocess,
    skip_bad: bool,
    shape: tuple[int, ...],
    workers: int,
) -> Iterator[list[tuple[int, Any, Any]]]:
    """Decoded chunks, in order; with ``workers > 1`` from a bounded process pool."""
    if workers == 1:
        _init_worker(source, prep, skip_bad, shape)
        for chunk in chunks:
            yield _decode_chunk(chunk)
        return
    source.close()  # no open handles across fork; each worker reopens lazily
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context(
        "fork" if sys.platform.startswith("linux") and "fork" in methods else None
    )
    pool = worker_pool(  # workers exit if this process dies
        workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(source, prep, skip_bad, shape),
    )
    pending: deque[Future[list[tuple[int, Any, Any]]]] = deque()
    try:
        for chunk in islice(chunks, 2 * workers):
            pending.append(pool.submit(_decode_chunk, chunk))
        while pending:
            result = pending.popleft().result()
            nxt = next(chunks, None)
            if nxt is not None:
                pending.append(pool.submit(_decode_chunk, nxt))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- import
def _fingerprint(
    fmt: str, source: Path, prep: Preprocess, skip_bad: bool, ids: Sequence[str]
) -> str:
    """What identifies an import (inputs, settings, item ids), so resume can check it."""
    digest = hashlib.sha256()
    digest.update(json.dumps([fmt, str(source), prep.as_dict(), skip_bad]).encode())
    for ident in ids:
        digest.update(ident.encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()[:32]


def _probe_shape(source: ImageSource, prep: Preprocess, skip_bad: bool) -> tuple[int, ...]:
    """Shape of the first item that decodes (raising for a bad one without skip_bad).

    Raises
    ------
    DataFormatError, DataMissingError
        For a bad first item without ``skip_bad``, or if none of the first 50 decode.
    """
    last: Exception | None = None
    for i in range(min(len(source), 50)):
        try:
            image, _ = source.prepare(i, prep)
            return tuple(image.shape)
        except _SKIPPABLE as exc:
            if not skip_bad:
                raise
            last = exc
    if last is not None:
        raise DataFormatError(
            f"none of the first items of '{source.root}' can be read; last error: {last}"
        )
    return (1, prep.size, prep.size)


def _write_skipped_log(path: Path, skipped: list[dict[str, str]]) -> None:
    """Write the skipped items as CSV (``id,file,reason``), atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["id", "file", "reason"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: safe_text(v) for k, v in row.items()} for row in skipped)
    with atomic_output(path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")


def _storable(row: dict[str, Any]) -> dict[str, Any]:
    """A catalogue row whose text encodes as UTF-8 (HDF5 strings): file names that
    were not UTF-8 keep their bytes as ``\\xNN`` escapes instead of failing."""
    return {k: safe_text(v) if isinstance(v, str) else v for k, v in row.items()}


def import_dataset(
    fmt: str,
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    size: int = 128,
    crop: float = 1.0,
    channels: str = "gray",
    skip_bad: bool = False,
    workers: int = 1,
    limit: int | None = None,
    resume: bool = False,
    stretch: str = "asinh",
    zero_masked: bool = True,
    mask_fill: str = "interpolate",
    pattern: str | None = None,
    chunk_size: int | None = None,
    command: str | None = None,
    allow_outside_root: bool = False,
) -> Path:
    """Import a galaxy image set into one dataset store file.

    Parameters
    ----------
    fmt
        Reader format, one of :data:`FORMATS`: ``gz1``, ``gz2-kaggle``,
        ``gz2-kaggle-folders``, ``gz2-hart16``, ``gz-decals``, ``galaxy10``,
        ``galaxy-builder``, ``fits``, ``folder``.
    source
        The folder or file the reader expects (see :mod:`galaxy_xai.data.readers`).
    out
        Output ``.h5`` path.
    size
        Output side in pixels, 8..4096.
    crop
        Fraction (0, 1] of the shorter side kept about the centre before resizing.
    channels
        ``gray``, ``rgb`` or ``all`` (every band of the source).
    skip_bad
        Skip bad items (listed in ``<out>.skipped.csv``) instead of raising.
    workers
        Decoding processes (1 = this process).
    limit
        Import only the first ``limit`` catalogue items.
    resume
        Continue an interrupted import of the same inputs and settings.
    stretch
        Float data only: ``asinh`` (robust, into [0, 1]) or ``linear`` (native units).
    zero_masked
        Replace masked pixels where the source has masks (Galaxy Builder).
    mask_fill
        With what: ``interpolate`` (the surrounding light plus sky noise), ``noise``
        (the unmasked sky's level and noise) or ``zero``.
    pattern
        ``fits`` only: glob selecting the files in a folder.
    chunk_size
        Items per decoding task (default: 64, fewer for small sets with workers).
    command
        The command line, recorded in the provenance.
    allow_outside_root
        Accept catalogue paths that resolve (``..``, absolute paths, symlinks)
        outside ``source``; by default they are refused, even with ``skip_bad``.

    Returns
    -------
    Path
        ``out``, complete.

    Raises
    ------
    ParameterError
        On an out-of-range option.
    DataMissingError, DataFormatError
        On bad input without ``skip_bad`` (the message names the file, row or column);
        the partial output is kept for ``resume``. Catalogue problems (paths outside
        ``source``, bad labels, unreadable containers) are raised before any output
        is written.
    """
    prep = Preprocess(
        size=size, crop=crop, channels=channels, stretch=stretch, zero_masked=zero_masked,
        mask_fill=mask_fill,
    )  # fmt: skip
    _check_run_options(workers=workers, limit=limit, chunk_size=chunk_size)
    out = Path(out)
    src_path = Path(source).expanduser().resolve()
    src, n_listed = _open_items(
        fmt, src_path, skip_bad=skip_bad, pattern=pattern, limit=limit,
        allow_outside_root=allow_outside_root,
    )  # fmt: skip
    n = len(src)
    shape = _probe_shape(src, prep, skip_bad)
    fingerprint = _fingerprint(fmt, src_path, prep, skip_bad, src.catalog["id"].tolist())
    chunk = chunk_size or max(1, min(64, math.ceil(n / (4 * workers))))

    state_file = _state_path(out)
    writer, state, skipped = _open_writer(
        out, src, state_file, fmt=fmt, prep=prep, shape=shape, fingerprint=fingerprint,
        resume=resume,
    )  # fmt: skip
    cursor = int(state["cursor"])
    scales = {float(v) for v in state["scales"]}  # distinct pixel scales (NaN as -1)
    try:
        chunks = _chunks(int(state["next"]), n, chunk)
        n_chunks = math.ceil((n - int(state["next"])) / chunk)
        results = _decoded(src, chunks, prep=prep, skip_bad=skip_bad, shape=shape, workers=workers)
        for result in progress(results, desc=f"import {fmt}", total=n_chunks, unit="chunk"):
            cursor = _store_chunk(result, src, writer, cursor, scales, state, skipped)
            write_json(state_file, state)  # after every chunk, for resume
        writer.truncate(cursor)
        if cursor == 0:
            raise DataFormatError(f"{fmt} source '{src_path}': every item was skipped as bad")
        writer.metadata["provenance"] = _provenance(
            fmt, src_path, out, n_listed=n_listed, limit=limit, n_imported=cursor,
            skipped=skipped, workers=workers, command=command,
        )  # fmt: skip
        common = scales.pop() if len(scales) == 1 and -1.0 not in scales else None
        if common is not None:
            writer.metadata["pixel_scale_arcsec"] = common
        writer.close()
    except BaseException as exc:
        writer.abort()
        _log_partial_kept(out, exc)
        raise
    finally:
        src.close()
    _write_or_remove_skipped_log(out, skipped)
    state_file.unlink(missing_ok=True)
    return out


def _open_items(
    fmt: str,
    src_path: Path,
    *,
    skip_bad: bool,
    pattern: str | None,
    limit: int | None,
    allow_outside_root: bool,
) -> tuple[ImageSource, int]:
    """The source's first ``limit`` items, and how many its catalogue listed in all.

    Raises
    ------
    DataFormatError
        If no item is left; and as :func:`open_source`.
    """
    src = open_source(
        fmt, src_path, skip_bad=skip_bad, pattern=pattern, allow_outside_root=allow_outside_root
    )
    n_listed = len(src) + len(src.skipped)
    if limit is not None:
        src = src.head(limit)
    if len(src) == 0:
        raise DataFormatError(f"{fmt} source '{src_path}' has no readable items")
    return src, n_listed


def _open_writer(
    out: Path,
    src: ImageSource,
    state_file: Path,
    *,
    fmt: str,
    prep: Preprocess,
    shape: tuple[int, ...],
    fingerprint: str,
    resume: bool,
) -> tuple[DatasetWriter, dict[str, Any], list[dict[str, str]]]:
    """The store's writer, the progress to continue from and the items skipped so far.

    With ``resume``, the saved progress of the same import is continued, unless the
    partial file does not hold what it says was written (then the import starts afresh).

    Raises
    ------
    OutputBusyError
        If another process is writing ``out`` now (from
        :class:`~galaxy_xai.data.store.DatasetWriter`).
    """
    storage = "float32" if src.float_data else "uint8"
    state = _saved_state(state_file, fingerprint) if resume else _fresh_state(fingerprint)
    skipped: list[dict[str, str]] = list(src.skipped) + list(state["skipped"])
    writer = DatasetWriter(
        out,
        n_images=len(src),
        image_shape=shape,
        storage_dtype=storage,
        metadata=_store_metadata(fmt, src, prep, storage),
        resume=resume,
        fingerprint=fingerprint,
    )
    if state["cursor"] and not writer.written[: state["cursor"]].all():
        log.warning("partial file of '%s' does not match its saved progress: starting afresh", out)
        state = _fresh_state(fingerprint)
        skipped = list(src.skipped)
    if state["next"]:
        log.info("resuming '%s' at item %d of %d", out, state["next"], len(src))
    return writer, state, skipped


def _check_run_options(*, workers: int, limit: int | None, chunk_size: int | None) -> None:
    """Check the options that do not belong to :class:`Preprocess`.

    Raises
    ------
    ParameterError
        If ``workers`` is not an integer >= 1, ``limit`` neither None nor an integer
        >= 1, or ``chunk_size`` below 1.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError("workers", workers, "must be an integer >= 1")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ParameterError("limit", limit, "must be an integer >= 1 (or None for all)")
    if chunk_size is not None and chunk_size < 1:
        raise ParameterError("chunk_size", chunk_size, "must be >= 1")


def _fresh_state(fingerprint: str) -> dict[str, Any]:
    """The progress of an import that has not started (the state file's layout)."""
    return {"fingerprint": fingerprint, "next": 0, "cursor": 0, "skipped": [], "scales": []}


def _saved_state(state_file: Path, fingerprint: str) -> dict[str, Any]:
    """The saved progress of the same import, or a fresh one (none, unreadable, other inputs)."""
    if state_file.is_file():
        try:
            saved = json.loads(state_file.read_text())
        except (OSError, ValueError):
            saved = {}
        if saved.get("fingerprint") == fingerprint:
            return cast("dict[str, Any]", saved)
    return _fresh_state(fingerprint)


def _store_metadata(fmt: str, src: ImageSource, prep: Preprocess, storage: str) -> dict[str, Any]:
    """The store's metadata: the reader's, the class names and how images were prepared."""
    metadata: dict[str, Any] = {
        "kind": "import",
        "format": fmt,
        **{k: v for k, v in src.metadata.items() if k not in ("label_names", "class_names")},
        "label_names": src.metadata.get("label_names"),
        "class_names": src.metadata.get("class_names", {}),
        "preprocessing": {
            **prep.as_dict(),
            "storage_dtype": storage,
            "resample": "lanczos (Pillow, antialiased)",
            "crop_region": "centred square, side = crop x shorter side",
            "stretch": prep.stretch
            if src.float_data
            else "none (8-bit source, uint8 read back / 255)",
            "gray": "ITU-R 601 luma" if not src.float_data else "mean of bands",
        },
    }
    if not src.float_data:
        for key in ("asinh_a", "percentile"):
            metadata["preprocessing"].pop(key)
    return metadata


def _store_chunk(
    result: list[tuple[int, Any, Any]],
    src: ImageSource,
    writer: DatasetWriter,
    cursor: int,
    scales: set[float],
    state: dict[str, Any],
    skipped: list[dict[str, str]],
) -> int:
    """Write one decoded chunk at ``cursor`` and record it in ``state``; returns the new cursor.

    Skipped items are appended to ``skipped`` and ``state["skipped"]``; ``scales``
    gathers the distinct pixel scales (at most two: only "one or not" matters).

    Raises
    ------
    GalaxyXAIError
        The error a decoding worker met (without ``skip_bad``), raised again here.
    """
    images, rows = [], []
    for i, image, extras in result:
        if isinstance(image, str):  # "raise"
            cls, args = extras
            raise cls(*args)
        if image is None:
            skipped.append(
                {"id": str(src.catalog.at[i, "id"]), "file": src.file_of(i), "reason": extras}
            )
            state["skipped"].append(skipped[-1])
            log.warning("skipped: %s", extras)
            continue
        images.append(image)
        rows.append(_storable({**src.catalog.iloc[i].to_dict(), **extras}))
        scale = float(extras.get("pixel_scale_arcsec", math.nan))
        scales.add(round(scale, 9) if math.isfinite(scale) else -1.0)
        if len(scales) > 2:
            kept = sorted(scales)[:2]
            scales.clear()
            scales.update(kept)
    if images:
        writer.write(cursor, np.stack(images), rows)
        cursor += len(images)
    state.update(next=result[-1][0] + 1, cursor=cursor, scales=sorted(scales))
    return cursor


def _provenance(
    fmt: str,
    src_path: Path,
    out: Path,
    *,
    n_listed: int,
    limit: int | None,
    n_imported: int,
    skipped: list[dict[str, str]],
    workers: int,
    command: str | None,
) -> dict[str, Any]:
    """The store's provenance record: source, reader, counts and the command."""
    from galaxy_xai import __version__

    return {
        "source": str(src_path),
        "reader": fmt,
        "n_listed": n_listed,
        "limit": limit,
        "n_imported": n_imported,
        "n_skipped": len(skipped),
        "skipped_log": skipped_log_path(out).name if skipped else None,
        "workers": workers,
        "command": command,
        "galaxy_xai_version": __version__,
    }


def _log_partial_kept(out: Path, exc: BaseException) -> None:
    """Say where the partial output of a failed import is kept for ``resume``."""
    if out.exists() is False and partial_path(out).exists():
        # after bad input the error is the one line a user needs (-v shows this)
        level = logging.INFO if isinstance(exc, GalaxyXAIError) else logging.WARNING
        log.log(
            level,
            "partial output kept at '%s'; rerun with --resume to continue",
            partial_path(out),
        )


def _write_or_remove_skipped_log(out: Path, skipped: list[dict[str, str]]) -> None:
    """Write ``<out>.skipped.csv`` if items were skipped, else remove an old one."""
    log_path = skipped_log_path(out)
    if skipped:
        _write_skipped_log(log_path, skipped)
        log.warning("%d item(s) skipped; listed in '%s'", len(skipped), log_path)
    else:
        log_path.unlink(missing_ok=True)
