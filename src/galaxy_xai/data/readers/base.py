"""What every reader returns: an :class:`ImageSource` (catalogue + lazy pixels).

A reader parses a catalogue and checks it (columns, duplicate and unmatched ids) up
front, then reads pixels one item at a time, so sets of any size stream through
:func:`galaxy_xai.data.import_dataset` (also in worker processes: sources pickle
without open file handles).

Catalogue conventions (see ``docs/architecture.md``): ``id`` (str, unique),
``label`` (int) where a class exists, vote-fraction columns under their original
names, ``pixel_scale_arcsec`` of the *source* pixels (NaN where unknown),
``source_file`` (path relative to the source folder), ``redshift`` where known.
"""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.data.images import check_finite, decode_raster, is_fits, read_fits
from galaxy_xai.data.preprocess import (
    Preprocess,
    asinh_stretch,
    center_crop_box,
    resize_float,
    select_channels,
)
from galaxy_xai.errors import DataFormatError, DataMissingError

__all__ = [
    "FileSource",
    "ImageSource",
    "check_unique_ids",
    "find_column",
    "labels_from_names",
    "match_files",
    "read_table",
    "require_columns",
    "require_path",
]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- helpers
def require_path(path: str | os.PathLike[str], *, what: str, kind: str = "any") -> Path:
    """Return ``path`` as a Path; raise :class:`DataMissingError` if it is absent.

    ``kind`` is ``"file"``, ``"dir"`` or ``"any"``.
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
        If it cannot be parsed or is empty.
    """
    path = require_path(path, what=what, kind="file")
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, **kwargs)
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
        OSError,
        ValueError,
    ) as exc:
        raise DataFormatError(f"{what} '{path}' cannot be parsed: {exc}") from None
    if df.empty:
        raise DataFormatError(f"{what} '{path}' has no rows")
    return df


def require_columns(df: pd.DataFrame, columns: Iterable[str], *, where: str) -> None:
    """Raise :class:`DataFormatError` naming the missing columns and listing those found."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        found = ", ".join(map(str, df.columns[:40])) + (" ..." if len(df.columns) > 40 else "")
        raise DataFormatError(
            f"{where} has no column(s) {', '.join(map(repr, missing))} (found: {found})"
        )


def find_column(df: pd.DataFrame, candidates: Sequence[str], *, where: str, what: str) -> str:
    """The first of ``candidates`` present in ``df`` (case-insensitive match allowed)."""
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


def check_unique_ids(ids: pd.Series, *, where: str, line_offset: int = 2) -> None:
    """Raise :class:`DataFormatError` on duplicated ids, naming them and their lines.

    ``line_offset`` converts a 0-based row to a file line (2 for a CSV with a header).
    """
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        lines = [int(i) + line_offset for i in np.flatnonzero((ids == first).to_numpy())]
        raise DataFormatError(
            f"{where}: duplicate id {first!r} on lines {lines} "
            f"({dup.nunique()} duplicated id(s) in all)"
        )


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
            out = self._prepare_float(pixels, notes, prep, where=where)
        return out, self._extras(i, pixels.shape[2], pixels.shape[1], prep)

    def _prepare_float(
        self, pixels: np.ndarray, notes: dict[str, Any], prep: Preprocess, *, where: str
    ) -> np.ndarray:
        check_finite(pixels, where=where)
        mask = notes.get("mask")
        if mask is not None and prep.zero_masked:
            pixels = np.where(mask[None], np.float32(0.0), pixels)
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
        path = self.path_of(i)
        if self.float_data:
            data, info = read_fits(path)
            return data, info
        from PIL import Image

        try:
            with Image.open(path) as img:
                img.load()
                mode = "L" if img.mode in ("L", "I", "I;16", "F", "1") else "RGB"
                arr = np.asarray(img.convert(mode), dtype=np.uint8)
        except FileNotFoundError:
            raise DataMissingError(f"image file '{path}' does not exist") from None
        except OSError as exc:
            raise DataFormatError(f"image file '{path}' is corrupt or unreadable: {exc}") from None
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
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Keep catalogue rows whose file exists; the others raise or are skipped.

    ``files`` holds one path per row, relative to ``root``. Returns the kept rows
    (with ``source_file`` set) and the skip records.

    Raises
    ------
    DataMissingError
        Without ``skip_bad``, for the first row whose file does not exist (named with
        its id and line).
    """
    exists = _existing(root, files)
    catalog = pd.concat(
        [catalog.reset_index(drop=True), pd.DataFrame({"source_file": list(files)})], axis=1
    )
    missing = np.flatnonzero(~exists)
    skipped: list[dict[str, str]] = []
    if len(missing):
        first = int(missing[0])
        if not skip_bad:
            raise DataMissingError(
                f"{where}: id {str(catalog['id'].iloc[first])!r} (line {first + line_offset}) "
                f"has no image '{root / files[first]}' ({len(missing)} unmatched id(s) in all; "
                "use --skip-bad to skip them)"
            )
        for j in missing:
            skipped.append(
                {
                    "id": str(catalog["id"].iloc[j]),
                    "file": str(files[int(j)]),
                    "reason": "no image file",
                }
            )
        log.warning("%s: skipping %d id(s) with no image file", where, len(missing))
    return catalog.iloc[np.flatnonzero(exists)].reset_index(drop=True), skipped


def _existing(root: Path, files: Sequence[str]) -> np.ndarray:
    """Vectorised existence test: one directory listing per folder, not a stat per file."""
    listings: dict[Path, set[str]] = {}
    out = np.zeros(len(files), dtype=bool)
    for k, rel in enumerate(files):
        full = root / rel
        folder = full.parent
        if folder not in listings:
            try:
                listings[folder] = set(os.listdir(folder))
            except OSError:
                listings[folder] = set()
        out[k] = full.name in listings[folder]
    return out
