"""What every reader returns: an :class:`ImageSource` (catalogue + lazy pixels).

A reader parses a catalogue and checks it (columns, duplicate and unmatched ids) up
front, then reads pixels one item at a time, so sets of any size stream through
:func:`galaxy_xai.data.import_dataset` (also in worker processes: sources pickle
without open file handles).

Catalogue conventions (see ``docs/architecture.md``): ``id`` (str, unique),
``label`` (int) where a class exists, vote-fraction columns under their original
names, ``pixel_scale_arcsec`` of the *source* pixels (NaN where unknown),
``source_file`` (path relative to the source folder), ``redshift`` where known.

Safety rules every reader keeps (see :func:`match_files`): each path a catalogue names
is resolved (following symlinks) and refused unless it lies inside the data folder
(``allow_outside_root=True`` lifts this); ids used to build paths may not hold path
separators or ``..``; file names that are not valid UTF-8 are refused (or, with
``skip_bad``, skipped); label and other value columns are checked cell by cell.
"""

from __future__ import annotations

import copy
import csv
import gzip
import logging
import math
import os
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.data.images import (
    check_finite,
    decode_raster,
    is_fits,
    open_raster,
    read_fits,
    safe_text,
)
from galaxy_xai.data.preprocess import (
    Preprocess,
    asinh_stretch,
    center_crop_box,
    fill_masked,
    resize_float,
    select_channels,
)
from galaxy_xai.errors import DataFormatError, DataMissingError

__all__ = [
    "EXACT_INTEGER",
    "FileSource",
    "ImageSource",
    "check_id_names",
    "check_inside_root",
    "check_unique_ids",
    "find_column",
    "integer_column",
    "labels_from_names",
    "match_files",
    "numeric_column",
    "read_table",
    "require_columns",
    "require_ids",
    "require_path",
    "utf8_names",
]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- helpers
def require_path(path: str | os.PathLike[str], *, what: str, kind: str = "any") -> Path:
    """Return ``path`` as a Path; raise :class:`DataMissingError` if it is absent.

    ``kind`` is ``"file"``, ``"dir"`` or ``"any"``.

    Raises
    ------
    DataMissingError
        If ``path`` does not exist, or is not a file (``kind="file"``) or a folder
        (``kind="dir"``).
    """
    path = Path(path).expanduser()
    ok = {"file": path.is_file(), "dir": path.is_dir(), "any": path.exists()}[kind]
    if not ok:
        noun = {"file": "file", "dir": "folder", "any": "path"}[kind]
        raise DataMissingError(f"{what} {noun} '{path}' does not exist")
    return path


def read_table(
    path: str | os.PathLike[str], *, what: str = "catalogue", **kwargs: Any
) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) or Parquet catalogue into a DataFrame.

    Raises
    ------
    DataMissingError
        If the file does not exist.
    DataFormatError
        If it cannot be parsed (truncated ``.gz``, text that is not UTF-8: the
        message names the line and column) or is empty.
    """
    path = require_path(path, what=what, kind="file")
    name = path.name.lower()
    shown = safe_text(path)
    try:
        if name.endswith((".parquet", ".pq")):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, **kwargs)
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"{what} '{shown}' {_utf8_error_location(path)}is not valid UTF-8 "
            f"({exc.reason}: {exc.object[exc.start : exc.end]!r}); "
            "save the catalogue as UTF-8"
        ) from None
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        OSError,
        EOFError,
        zlib.error,
        ValueError,
    ) as exc:
        message = " ".join(safe_text(exc).split())
        raise DataFormatError(f"{what} '{shown}' cannot be parsed: {message}") from None
    if df.empty:
        raise DataFormatError(f"{what} '{shown}' has no rows")
    return df


def _utf8_error_location(path: Path) -> str:
    """``"line N, column 'c' "`` of the first text that is not UTF-8 ('' if not found)."""
    try:
        opener: Any = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as fh:
            header: list[str] = []
            for number, raw in enumerate(fh, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    before = raw[: exc.start].decode("utf-8", "replace")
                    k = len(next(csv.reader([before]))) - 1 if before else 0
                    column = f", column {header[k]!r}" if 0 <= k < len(header) else ""
                    return f"line {number}{column} "
                if number == 1:
                    header = next(csv.reader([text]), [])
    except (OSError, EOFError, zlib.error, csv.Error):
        pass
    return ""


def require_columns(df: pd.DataFrame, columns: Iterable[str], *, where: str) -> None:
    """Raise :class:`DataFormatError` naming the missing columns and listing those found.

    Raises
    ------
    DataFormatError
        If any of ``columns`` is not a column of ``df``.
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        found = ", ".join(map(str, df.columns[:40])) + (" ..." if len(df.columns) > 40 else "")
        raise DataFormatError(
            f"{where} has no column(s) {', '.join(map(repr, missing))} (found: {found})"
        )


def find_column(df: pd.DataFrame, candidates: Sequence[str], *, where: str, what: str) -> str:
    """The first of ``candidates`` present in ``df`` (case-insensitive match allowed).

    Raises
    ------
    DataFormatError
        If none of ``candidates`` is a column of ``df``, even ignoring case.
    """
    lower = {str(c).lower(): c for c in df.columns}
    for cand in candidates:
        if cand in df.columns:
            return cand
        if cand.lower() in lower:
            return lower[cand.lower()]
    found = ", ".join(map(str, df.columns[:40]))
    raise DataFormatError(
        f"{where} has no {what} column (looked for {', '.join(candidates)}; found: {found})"
    )


def _empty_rows(ids: pd.Series) -> np.ndarray:
    """Rows whose id is missing (NaN, None) or blank text."""
    values = ids.reset_index(drop=True)
    return np.flatnonzero(values.map(lambda v: pd.isna(v) or not str(v).strip()).to_numpy())


def require_ids(
    ids: pd.Series,
    *,
    where: str,
    column: str,
    lines: Sequence[int] | np.ndarray | None = None,
    line_offset: int = 2,
) -> None:
    """Refuse empty id cells (missing or blank), naming the first one's line and column.

    ``lines`` gives the file line of each row; default ``row + line_offset``.

    Raises
    ------
    DataFormatError
        For the first empty id.
    """
    empty = _empty_rows(ids)
    if len(empty):
        j = int(empty[0])
        line = int(lines[j]) if lines is not None else j + line_offset
        n_bad = f" ({len(empty)} empty ids in the column)" if len(empty) > 1 else ""
        raise DataFormatError(f"{where} line {line}, column {column!r}: empty id{n_bad}")


def check_unique_ids(
    ids: pd.Series, *, where: str, line_offset: int = 2, column: str | None = None
) -> None:
    """Raise :class:`DataFormatError` on duplicated ids, naming them and their lines.

    ``line_offset`` converts a 0-based row to a file line (2 for a CSV with a header).
    With ``column`` (the catalogue column the ids come from), empty ids are refused
    first (see :func:`require_ids`).

    Raises
    ------
    DataFormatError
        If an id occurs more than once, or (with ``column``) an id is empty.
    """
    if column is not None:
        require_ids(ids, where=where, column=column, line_offset=line_offset)
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        lines = [int(i) + line_offset for i in np.flatnonzero((ids == first).to_numpy())]
        raise DataFormatError(
            f"{where}: duplicate id {first!r} on lines {lines} "
            f"({dup.nunique()} duplicated id(s) in all)"
        )


def _shown_value(value: Any) -> str:
    """A catalogue cell for a message: integral floats without '.0', text quoted."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(safe_text(value))
    return safe_text(value)


#: The largest integer a float64 holds exactly: catalogue integers pass through float.
EXACT_INTEGER = 2**53


def integer_column(
    values: pd.Series,
    *,
    where: str,
    column: str,
    lines: Sequence[int] | np.ndarray | None = None,
    line_offset: int = 2,
    minimum: int | None = 0,
    maximum: int | None = None,
    what: str = "class index",
    largest: int = EXACT_INTEGER,
    largest_reason: str = "larger integers cannot be read exactly",
) -> np.ndarray:
    """A catalogue column of integers (class indices, asset ids) as int64, checked.

    Every cell must be a whole number (``3`` or ``3.0``; not ``1.5``, text or empty)
    within ``minimum..maximum`` (either may be None) and at most ``largest`` in size,
    so that no cell is cast to a wrong integer or makes a reader allocate per class.

    Parameters
    ----------
    values
        The column, one cell per catalogue row.
    where
        The catalogue, for messages (``"GZ1 labels 'x/labels.csv'"``).
    column
        The column's name in the file.
    lines
        File line of each row; default ``row + line_offset`` (2 for a CSV).
    line_offset
        Converts a 0-based row to a file line when ``lines`` is None.
    minimum, maximum
        Inclusive bounds.
    what
        What a cell should be, for messages.
    largest, largest_reason
        A bound on the size of every cell beyond the valid range, and why it exists,
        for the message (default: :data:`EXACT_INTEGER`, the largest integer a
        float64 holds exactly).

    Raises
    ------
    DataFormatError
        For the first bad cell, naming its line, column and value.
    """
    raw = values.reset_index(drop=True)
    numeric = pd.to_numeric(raw, errors="coerce").astype(np.float64)
    number = numeric.to_numpy()
    finite = np.isfinite(number)
    whole = finite & (np.floor(np.where(finite, number, 0.0)) == np.where(finite, number, 0.0))
    in_range = whole.copy()
    if minimum is not None:
        in_range &= np.where(finite, number, minimum) >= minimum
    if maximum is not None:
        in_range &= np.where(finite, number, minimum or 0) <= maximum
    big = whole & (np.abs(np.where(finite, number, 0.0)) > largest)
    in_range &= ~big
    bad = np.flatnonzero(~in_range)
    if len(bad) == 0:
        return number.astype(np.int64)
    j = int(bad[0])
    line = int(lines[j]) if lines is not None else j + line_offset
    article = "an" if what[:1].lower() in "aeiou" else "a"
    if minimum is not None and maximum is not None:
        expected = f"{article} {what} {minimum}..{maximum}"
    elif minimum is not None:
        expected = f"{article} {what} (an integer >= {minimum})"
    else:
        expected = f"{article} {what} (an integer)"
    cell = raw.iloc[j]
    if pd.isna(cell) or (isinstance(cell, str) and not cell.strip()):
        problem = f"empty cell, expected {expected}"
    elif not finite[j]:
        problem = f"{_shown_value(cell)} is not a number, expected {expected}"
    elif not whole[j]:
        problem = f"{_shown_value(cell)} is not a whole number, expected {expected}"
    elif (
        big[j]
        and (minimum is None or number[j] >= minimum)
        and (maximum is None or number[j] <= maximum)
    ):
        problem = (
            f"{_shown_value(cell)} is too large for {article} {what} "
            f"(at most {largest}: {largest_reason})"
        )
    else:
        problem = f"{_shown_value(cell)} is not {expected}"
    n_bad = f" ({len(bad)} bad cell(s) in the column)" if len(bad) > 1 else ""
    raise DataFormatError(f"{where} line {line}, column {column!r}: {problem}{n_bad}")


def numeric_column(
    values: pd.Series,
    *,
    where: str,
    column: str,
    lines: Sequence[int] | np.ndarray | None = None,
    line_offset: int = 2,
) -> pd.Series:
    """A catalogue column of numbers (vote fractions, lengths) as float64, checked.

    Empty cells become NaN; text raises.

    Raises
    ------
    DataFormatError
        For the first cell that is text, naming its line, column and value.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(np.float64)
    raw = values.reset_index(drop=True)
    numeric = pd.to_numeric(raw, errors="coerce")
    text = np.flatnonzero(numeric.isna() & raw.notna() & (raw.astype(str).str.strip() != ""))
    if len(text):
        j = int(text[0])
        line = int(lines[j]) if lines is not None else j + line_offset
        n_bad = f" ({len(text)} text cell(s) in the column)" if len(text) > 1 else ""
        raise DataFormatError(
            f"{where} line {line}, column {column!r}: {_shown_value(raw.iloc[j])} is not a "
            f"number{n_bad}"
        )
    return pd.Series(numeric.to_numpy(np.float64), index=values.index, name=values.name)


_PATH_PARTS = ("/", "\\", "\x00")


def check_id_names(ids: pd.Series, *, where: str, column: str, line_offset: int = 2) -> None:
    """Refuse ids that would leave their folder when used as a file name.

    Readers that build a path from an id (``images/<OBJID>.jpeg``) call this first:
    an empty id, or one holding a path separator, ``..`` or a NUL, is not an id.

    Raises
    ------
    DataFormatError
        Naming the line, column and id.
    """
    require_ids(ids, where=where, column=column, line_offset=line_offset)
    text = ids.reset_index(drop=True).astype(str)
    bad = text.map(lambda v: ".." in v or any(c in v for c in _PATH_PARTS)).to_numpy()
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{where} line {j + line_offset}, column {column!r}: id {safe_text(text[j])!r} "
            "holds a path separator or '..'; ids name files inside the data folder"
        )


def utf8_names(
    names: Iterable[str],
    *,
    folder: str | os.PathLike[str],
    skip_bad: bool,
    skipped: list[dict[str, str]],
) -> list[str]:
    """The names (from a folder listing) that are valid UTF-8.

    Others (lone surrogates in Python: the bytes were not UTF-8) raise or, with
    ``skip_bad``, are recorded in ``skipped`` with the bytes shown as ``\\xNN``.

    Raises
    ------
    DataFormatError
        Without ``skip_bad``, for the first such name.
    """
    out: list[str] = []
    for name in names:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            reason = f"file name '{safe_text(name)}' is not valid UTF-8"
            if not skip_bad:
                raise DataFormatError(
                    f"folder '{safe_text(folder)}': {reason}; rename it (or use --skip-bad)"
                ) from None
            log.warning("folder '%s': skipping %s", safe_text(folder), reason)
            skipped.append({"id": "", "file": safe_text(name), "reason": reason})
            continue
        out.append(name)
    return out


def labels_from_names(
    values: pd.Series, *, names: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Integer labels and class names from a column of class names (sorted order)."""
    names = sorted(map(str, pd.unique(values.astype(str)))) if names is None else list(names)
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[str(v)] for v in values], dtype=np.int64), names


def _id_str(values: pd.Series) -> pd.Series:
    """Ids as strings, integers without a trailing '.0'."""
    if pd.api.types.is_float_dtype(values) and values.dropna().apply(float.is_integer).all():
        values = values.astype("Int64")
    return values.astype(str)


# --------------------------------------------------------------------------- sources
class ImageSource:
    """A catalogue of galaxies and a way to read each one's pixels.

    Attributes
    ----------
    fmt : str
        Reader format name (``gz1``, ``fits``, ...).
    root : Path
        The source folder or file.
    catalog : pandas.DataFrame
        One row per readable item, in import order (see module doc for columns).
    float_data : bool
        True for linear float pixels (stored float32), False for 8-bit rasters.
    metadata : dict
        ``label_names``, ``class_names`` (column -> names) and reader notes.
    skipped : list of dict
        Items dropped while reading the catalogue (``id``, ``file``, ``reason``).

    Raises
    ------
    DataFormatError
        If ``catalog`` has no ``id`` column, or an id is empty or duplicated.
    """

    fmt = "base"
    float_data = False

    def __init__(
        self,
        catalog: pd.DataFrame,
        *,
        root: str | os.PathLike[str],
        metadata: dict[str, Any] | None = None,
        skipped: list[dict[str, str]] | None = None,
    ) -> None:
        if "id" not in catalog.columns:
            raise DataFormatError(f"{self.fmt} reader produced a catalogue without 'id'")
        empty = _empty_rows(catalog["id"])
        if len(empty):  # readers name the line and column; this is the last guard
            raise DataFormatError(
                f"{self.fmt} catalogue of '{safe_text(root)}' row {int(empty[0])}: empty id"
            )
        self.catalog = catalog.reset_index(drop=True)
        self.catalog["id"] = _id_str(self.catalog["id"])
        check_unique_ids(
            self.catalog["id"], where=f"{self.fmt} catalogue of '{root}'", line_offset=0
        )
        if "pixel_scale_arcsec" not in self.catalog.columns:
            self.catalog["pixel_scale_arcsec"] = math.nan
        self.root = Path(root)
        self.metadata = dict(metadata or {})
        self.skipped = list(skipped or [])

    # basics -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.catalog)

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self.root}', n={len(self)})"

    def head(self, n: int) -> ImageSource:
        """A copy restricted to the first ``n`` items."""
        new = copy.copy(self)
        new.catalog = self.catalog.iloc[:n].reset_index(drop=True)
        return new

    def close(self) -> None:
        """Release open file handles (reopened lazily when needed)."""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for key in [k for k in state if k.startswith("_handle")]:
            state[key] = None
        return state

    def file_of(self, i: int) -> str:
        """The file an item comes from, for error messages and skip logs."""
        if "source_file" in self.catalog.columns:
            return str(self.catalog.at[i, "source_file"])
        return str(self.root)

    # pixels -------------------------------------------------------------------------
    def native(self, i: int) -> tuple[np.ndarray, dict[str, Any]]:
        """Item ``i`` at full resolution: ``(C, H, W)`` array and notes.

        Rasters are uint8, float sources float32 in native units. Notes may hold
        ``mask`` (bool ``(H, W)``, True = masked).

        Raises
        ------
        NotImplementedError
            Always, on the base class: each reader's subclass reads its own pixels.
        """
        raise NotImplementedError

    def image(self, i: int) -> np.ndarray:
        """Item ``i`` as float32 ``(C, H, W)`` at full resolution.

        8-bit rasters are scaled to [0, 1]; float data keep their native units.
        """
        pixels, _ = self.native(i)
        if pixels.dtype == np.uint8:
            return pixels.astype(np.float32) / np.float32(255.0)
        return pixels.astype(np.float32, copy=False)

    def iter_images(self) -> Iterator[tuple[dict[str, Any], np.ndarray]]:
        """Yield ``(catalogue row, float32 (C, H, W) image)`` for every item, streaming."""
        for i in range(len(self)):
            yield self.catalog.iloc[i].to_dict(), self.image(i)

    def prepare(self, i: int, prep: Preprocess) -> tuple[np.ndarray, dict[str, Any]]:
        """Item ``i`` preprocessed for the store.

        Returns
        -------
        image : numpy.ndarray
            ``(C, size, size)``: uint8 for rasters, float32 for float data.
        extras : dict
            Per-item catalogue additions: ``original_width_px``, ``original_height_px``,
            ``pixel_scale_arcsec`` (effective, after crop and resize; NaN if unknown).
        """
        pixels, notes = self.native(i)
        where = f"{self.fmt} item {self.catalog.at[i, 'id']!r} ('{self.file_of(i)}')"
        if pixels.dtype == np.uint8:
            from galaxy_xai.data.images import raster_from_array

            hwc = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
            out = raster_from_array(
                hwc, size=prep.size, crop=prep.crop, channels=prep.channels, where=where
            )
        else:
            # the sky noise drawn into masked pixels depends on the galaxy's id alone
            seed = zlib.crc32(str(self.catalog.at[i, "id"]).encode("utf-8", "backslashreplace"))
            out = self._prepare_float(pixels, notes, prep, where=where, seed=seed)
        return out, self._extras(i, pixels.shape[2], pixels.shape[1], prep)

    def _prepare_float(
        self,
        pixels: np.ndarray,
        notes: dict[str, Any],
        prep: Preprocess,
        *,
        where: str,
        seed: int = 0,
    ) -> np.ndarray:
        check_finite(pixels, where=where)
        mask = notes.get("mask")
        if mask is not None and prep.zero_masked:
            pixels = fill_masked(pixels, mask, how=prep.mask_fill, seed=seed)
        out = resize_float(pixels, prep.size, crop=prep.crop)
        out = select_channels(out, prep.channels)
        if prep.stretch == "asinh":
            out = asinh_stretch(out, a=prep.asinh_a, percentile=prep.percentile)
        return out

    def _extras(self, i: int, width: int, height: int, prep: Preprocess) -> dict[str, Any]:
        native = float(self.catalog.at[i, "pixel_scale_arcsec"])
        left, _, right, _ = center_crop_box(width, height, prep.crop)
        return {
            "original_width_px": int(width),
            "original_height_px": int(height),
            "native_pixel_scale_arcsec": native,
            "pixel_scale_arcsec": native * (right - left) / prep.size,
        }


class FileSource(ImageSource):
    """One image file per item (JPEG/PNG or FITS), listed in ``catalog['source_file']``.

    ``source_file`` is relative to ``root`` (or absolute). Whether the data are 8-bit
    or float is decided from the first file's suffix; mixing FITS and rasters in one
    import is an error.

    Raises
    ------
    DataFormatError
        If the catalogue mixes FITS and 8-bit image files, or (as in
        :class:`ImageSource`) its ids are missing, empty or duplicated.
    """

    fmt = "files"

    def __init__(
        self, catalog: pd.DataFrame, *, root: str | os.PathLike[str], **kwargs: Any
    ) -> None:
        super().__init__(catalog, root=root, **kwargs)
        files = self.catalog["source_file"].astype(str)
        fits_mask = files.map(is_fits).to_numpy()
        if fits_mask.any() and not fits_mask.all():
            raster = files[~fits_mask].iloc[0]
            raise DataFormatError(
                f"{self.fmt} source '{root}' mixes FITS and 8-bit images "
                f"(e.g. '{files[fits_mask].iloc[0]}' and '{raster}'); import them separately"
            )
        self.float_data = bool(len(files) and fits_mask.all())

    def path_of(self, i: int) -> Path:
        """Absolute path of item ``i``'s file."""
        return self.root / str(self.catalog.at[i, "source_file"])

    def native(self, i: int) -> tuple[np.ndarray, dict[str, Any]]:
        """Item ``i`` read from its file: see :meth:`ImageSource.native`.

        Raises
        ------
        DataMissingError
            If the item's file does not exist.
        DataFormatError
            If the file is corrupt or unreadable, declares too many pixels (a
            decompression bomb), or (FITS) holds no image or NaN/infinite pixels.
        """
        path = self.path_of(i)
        if self.float_data:
            data, info = read_fits(path)
            return data, info
        from PIL import Image

        with open_raster(path) as img:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    img.load()
                mode = "L" if img.mode in ("L", "I", "I;16", "F", "1") else "RGB"
                arr = np.asarray(img.convert(mode), dtype=np.uint8)
            except (OSError, SyntaxError, ValueError, Warning) as exc:
                message = " ".join(safe_text(exc).split())
                raise DataFormatError(
                    f"image file '{safe_text(path)}' is corrupt or unreadable: {message}"
                ) from None
        return (arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)), {}

    def prepare(self, i: int, prep: Preprocess) -> tuple[np.ndarray, dict[str, Any]]:
        if self.float_data:
            data, info = read_fits(self.path_of(i))
            where = f"FITS file '{self.path_of(i)}'"
            out = self._prepare_float(data, info, prep, where=where)
            extras = self._extras(i, data.shape[2], data.shape[1], prep)
            if not math.isfinite(float(self.catalog.at[i, "pixel_scale_arcsec"])):
                left, _, right, _ = center_crop_box(data.shape[2], data.shape[1], prep.crop)
                extras["pixel_scale_arcsec"] = (
                    info["pixel_scale_arcsec"] * (right - left) / prep.size
                )
                extras["native_pixel_scale_arcsec"] = info["pixel_scale_arcsec"]
            if info["bands"]:
                extras["bands"] = "".join(info["bands"])
            return out, extras
        image, (width, height) = decode_raster(
            self.path_of(i), size=prep.size, crop=prep.crop, channels=prep.channels
        )
        return image, self._extras(i, width, height, prep)


def match_files(
    catalog: pd.DataFrame,
    files: Sequence[str],
    *,
    root: Path,
    where: str,
    skip_bad: bool,
    line_offset: int = 2,
    lines: Sequence[int] | np.ndarray | None = None,
    column: str = "file",
    allow_outside_root: bool = False,
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Keep catalogue rows whose file exists; the others raise or are skipped.

    ``files`` holds one path per row, relative to ``root`` (or absolute). Every path
    is resolved, following symlinks, and must lie inside ``root`` unless
    ``allow_outside_root``: a catalogue naming ``../../etc/passwd``, an absolute
    path elsewhere, or a symlink out of the folder is refused even with ``skip_bad``
    (reading files the user did not point at is a security matter, not a bad image).
    Returns the kept rows (with ``source_file`` set) and the skip records.

    Parameters
    ----------
    catalog
        One row per file.
    files
        Path of each row's file.
    root
        The data folder.
    where
        The catalogue, for messages.
    skip_bad
        Skip rows whose file does not exist instead of raising.
    line_offset, lines
        File line of each row: ``lines`` if given, else ``row + line_offset``.
    column
        The catalogue column the paths come from (or are built from), for messages.
    allow_outside_root
        Accept paths that resolve outside ``root``.

    Raises
    ------
    DataFormatError
        For the first path that resolves outside ``root`` (naming the catalogue, line,
        column, the path and where it leads) or holds a NUL.
    DataMissingError
        Without ``skip_bad``, for the first row whose file does not exist (named with
        its id and line).
    """

    def line_of(j: int) -> int:
        return int(lines[j]) if lines is not None else j + line_offset

    files = [str(f) for f in files]
    nul = [j for j, f in enumerate(files) if "\x00" in f]
    if nul:
        raise DataFormatError(
            f"{where} line {line_of(nul[0])}, column {column!r}: file name "
            f"{safe_text(files[nul[0]])!r} holds a NUL character"
        )
    exists, resolved = _existing_and_resolved(root, files)
    if not allow_outside_root:
        check_inside_root(
            root, files, resolved=resolved, where=where, line_of=line_of, column=column
        )
    catalog = pd.concat(
        [catalog.reset_index(drop=True), pd.DataFrame({"source_file": list(files)})], axis=1
    )
    missing = np.flatnonzero(~exists)
    skipped: list[dict[str, str]] = []
    if len(missing):
        first = int(missing[0])
        if not skip_bad:
            raise DataMissingError(
                f"{where}: id {str(catalog['id'].iloc[first])!r} (line {line_of(first)}) "
                f"has no image '{safe_text(root / files[first])}' ({len(missing)} unmatched "
                "id(s) in all; use --skip-bad to skip them)"
            )
        for j in missing:
            skipped.append(
                {
                    "id": str(catalog["id"].iloc[j]),
                    "file": safe_text(files[int(j)]),
                    "reason": "no image file",
                }
            )
        log.warning("%s: skipping %d id(s) with no image file", where, len(missing))
    return catalog.iloc[np.flatnonzero(exists)].reset_index(drop=True), skipped


def check_inside_root(
    root: Path,
    files: Sequence[str],
    *,
    where: str,
    resolved: Sequence[Path] | None = None,
    line_of: Callable[[int], int] | None = None,
    column: str | None = None,
) -> None:
    """Raise if any of ``files`` (relative to ``root``) resolves outside ``root``.

    Symlinks are followed (:meth:`pathlib.Path.resolve`). ``line_of(row)`` and
    ``column`` locate a catalogue cell in the message; without them (folder
    listings) the file alone is named.

    Raises
    ------
    DataFormatError
        For the first such file, naming it, where it leads and the data folder.
    """
    base = _resolve(root)
    if resolved is None:
        resolved = _existing_and_resolved(root, files)[1]
    for j, target in enumerate(resolved):
        if target == base or target.is_relative_to(base):
            continue
        cell = f" line {line_of(j)}, column {column!r}:" if line_of is not None and column else ":"
        raise DataFormatError(
            f"{where}{cell} path {safe_text(files[j])!r} resolves to "
            f"'{safe_text(target)}', outside the data folder '{safe_text(base)}' "
            "(use --allow-outside-root to read it anyway)"
        )


def _existing_and_resolved(root: Path, files: Sequence[str]) -> tuple[np.ndarray, list[Path]]:
    """Which files exist, and where each resolves (symlinks followed).

    One directory scan per folder, not a stat per file: a file's path is its folder's
    resolved path plus its name unless the name is a symlink (or ``.``/``..``), which
    is resolved on its own.
    """
    folders: dict[Path, tuple[Path, set[str], set[str]]] = {}
    out = np.zeros(len(files), dtype=bool)
    resolved: list[Path] = []
    for k, rel in enumerate(files):
        full = root / rel
        folder, name = full.parent, full.name
        if folder not in folders:
            names: set[str] = set()
            links: set[str] = set()
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        names.add(entry.name)
                        if entry.is_symlink():
                            links.add(entry.name)
            except (OSError, ValueError):
                pass
            folders[folder] = (_resolve(folder), names, links)
        real_folder, names, links = folders[folder]
        out[k] = name in names
        if name in links or name in ("", ".", ".."):
            resolved.append(_resolve(full))
        else:
            resolved.append(real_folder / name)
    return out, resolved


def _resolve(path: Path) -> Path:
    """``path.resolve()``; a symlink loop (which cannot be opened) stays as it is."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python < 3.13 raises on loops
        return Path(os.path.abspath(path))
