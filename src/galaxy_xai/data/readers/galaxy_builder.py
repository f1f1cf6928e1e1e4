"""Galaxy Builder (Lingard et al. 2020): SDSS r-band cutouts with masks and PSFs, and
the volunteers' component models.

Layout: ``gzb_cutouts.npz`` with ``img_<objid>`` (float32 counts, square, 60-294 px,
0.396 arcsec/pixel), ``mask_<objid>`` (bool, True = masked star or artefact) and
``psf_<objid>`` (11x11); ``galaxy-builder-catalogue.csv`` (per-model rows keyed by
``dr7objid``, repeats marked ``is_validation``; lengths in cutout pixels);
``compiled_hart_catalog.csv`` (GZ2 ``p_bar``, NSA ``PETRO_THETA`` in arcsec, ``Z``).

The catalogue joins, per galaxy: the component models averaged over repeated rows
(``n_models``; ``bar_model_fraction`` = share of models with a bar, ``has_bar`` when
at least half have one), lengths also in arcsec (``bar_Re_arcsec`` ...), and the Hart
``p_bar``, ``petro_theta_arcsec`` and ``redshift``. ``pixel_scale_arcsec`` is 0.396
natively; after import it is ``0.396 * original / size`` (see the importer).
"""

from __future__ import annotations

import logging
import math
import os
import zipfile
import zlib
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.data.images import MAX_IMAGE_VALUES, safe_text
from galaxy_xai.data.readers.base import (
    ImageSource,
    numeric_column,
    read_table,
    require_columns,
    require_ids,
    require_path,
)
from galaxy_xai.errors import DataFormatError, DataMissingError

__all__ = ["SDSS_PIXEL_SCALE_ARCSEC", "GalaxyBuilderSource", "read_galaxy_builder"]

log = logging.getLogger(__name__)

#: SDSS native pixel scale (arcsec/pixel).
SDSS_PIXEL_SCALE_ARCSEC = 0.396
_LENGTH_COLUMNS = ("bar_Re", "bulge_Re", "disk_Re")
_HART_NUMERIC = ("p_bar", "PETRO_THETA", "Z")
# What numpy/zipfile raise on an empty, truncated or damaged .npz.
_NPZ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)


class GalaxyBuilderSource(ImageSource):
    """Galaxy Builder cutouts; ``mask(i)`` and ``psf(i)`` give the mask and PSF."""

    fmt = "galaxy-builder"
    float_data = True

    def __init__(self, catalog: pd.DataFrame, *, root: Any, npz: Any, **kwargs: Any) -> None:
        super().__init__(catalog, root=root, **kwargs)
        self.npz = npz
        self._handle: Any = None

    def _arrays(self) -> Any:
        if self._handle is None:
            try:
                self._handle = _open_npz(self.npz)
            except _NPZ_ERRORS as exc:
                raise DataFormatError(
                    f"Galaxy Builder file '{safe_text(self.npz)}' cannot be read "
                    f"(empty, truncated or not an .npz): {' '.join(str(exc).split()) or type(exc).__name__}"
                ) from None
        return self._handle

    def _check_declared(self, key: str) -> None:
        """Refuse an array whose ``.npy`` header declares more than the size limit."""
        arrays = self._arrays()
        try:
            with arrays.zip.open(f"{key}.npy") as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape = np.lib.format.read_array_header_1_0(member)[0]
                elif version == (2, 0):
                    shape = np.lib.format.read_array_header_2_0(member)[0]
                else:  # 3.0: structured dtypes with unicode names, never an image
                    return
        except KeyError:
            return  # reported by _get
        except _NPZ_ERRORS as exc:
            raise DataFormatError(
                f"Galaxy Builder file '{safe_text(self.npz)}' array {key!r} is corrupt: "
                f"{' '.join(str(exc).split()) or type(exc).__name__}"
            ) from None
        if math.prod(shape) > MAX_IMAGE_VALUES:
            raise DataFormatError(
                f"Galaxy Builder file '{safe_text(self.npz)}' array {key!r} declares shape "
                f"{tuple(shape)}, over the limit of {MAX_IMAGE_VALUES} values; refusing to "
                "read it (a decompression bomb?)"
            )

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _get(self, prefix: str, i: int) -> np.ndarray:
        key = f"{prefix}_{self.catalog.at[i, 'id']}"
        self._check_declared(key)
        try:
            return np.asarray(self._arrays()[key])
        except KeyError:
            raise DataMissingError(
                f"Galaxy Builder file '{safe_text(self.npz)}' has no array {key!r}"
            ) from None
        except _NPZ_ERRORS as exc:
            raise DataFormatError(
                f"Galaxy Builder file '{safe_text(self.npz)}' array {key!r} is corrupt: "
                f"{' '.join(str(exc).split()) or type(exc).__name__}"
            ) from None

    def mask(self, i: int) -> np.ndarray:
        """Boolean ``(H, W)`` mask of item ``i`` (True = masked); all False if absent."""
        key = f"mask_{self.catalog.at[i, 'id']}"
        if key not in self._arrays().files:
            return np.zeros(self._get("img", i).shape, dtype=bool)
        return self._get("mask", i).astype(bool)

    def psf(self, i: int) -> np.ndarray:
        """The PSF image of item ``i`` (float32, normalised to unit sum)."""
        psf = self._get("psf", i).astype(np.float32)
        total = psf.sum()
        return psf / total if total > 0 else psf

    def native(self, i: int) -> tuple[np.ndarray, dict[str, Any]]:
        """Item ``i`` and its mask read from the ``.npz``: see :meth:`ImageSource.native`.

        Raises
        ------
        DataFormatError
            If the image of item ``i`` is not 2-D, or its mask has another shape.
        """
        image = self._get("img", i).astype(np.float32)
        if image.ndim != 2:
            raise DataFormatError(
                f"Galaxy Builder file '{self.npz}' img_{self.catalog.at[i, 'id']}: expected a 2-D image, found {image.shape}"
            )
        mask = self.mask(i)
        if mask.shape != image.shape:
            raise DataFormatError(
                f"Galaxy Builder file '{self.npz}' mask_{self.catalog.at[i, 'id']}: shape {mask.shape} != image {image.shape}"
            )
        return image[None], {"mask": mask}


def _open_npz(path: Any) -> Any:
    """``np.load`` of an .npz that closes its file when the zip is damaged (numpy's own
    ``np.load(path)`` leaves it open then); the NpzFile owns the file once open."""
    fh = open(path, "rb")  # noqa: SIM115 - owned by the NpzFile, or closed below
    try:
        magic = fh.read(4)
        if magic[:2] != b"PK":  # a bare .npy would be read whole, whatever it declares
            raise ValueError("empty file" if not magic else f"not a zip archive (starts {magic!r})")
        fh.seek(0)
        arrays = np.load(fh)
    except BaseException:
        fh.close()
        raise
    arrays.fid = fh  # closed with the NpzFile (close() or garbage collection)
    return arrays


def _models(path: Any) -> pd.DataFrame:
    df = read_table(path, what="Galaxy Builder catalogue", dtype={"dr7objid": str})
    where = f"Galaxy Builder catalogue '{path}'"
    require_columns(df, ["dr7objid"], where=where)
    require_ids(df["dr7objid"], where=where, column="dr7objid")
    for column in _LENGTH_COLUMNS:  # lengths are targets: text in them is an error
        if column in df.columns:
            df[column] = numeric_column(df[column], where=where, column=column)
    df = df.rename(columns={"dr7objid": "id"})
    numeric = df.drop(columns=["id"]).select_dtypes("number")
    numeric = numeric.drop(columns=[c for c in ("ra", "dec") if c in numeric.columns])
    numeric["id"] = df["id"]
    numeric["has_bar_model"] = df["bar_Re"].notna().astype(float) if "bar_Re" in df else 0.0
    grouped = numeric.groupby("id", sort=False)
    out = grouped.mean()
    out["n_models"] = grouped.size()
    out = out.rename(columns={"has_bar_model": "bar_model_fraction"})
    out["has_bar"] = out["bar_model_fraction"] >= 0.5
    for col in _LENGTH_COLUMNS:
        if col in out.columns:
            out[f"{col}_arcsec"] = out[col] * SDSS_PIXEL_SCALE_ARCSEC
    return out.reset_index()


def read_galaxy_builder(
    path: str | os.PathLike[str], *, skip_bad: bool = False, allow_outside_root: bool = False
) -> GalaxyBuilderSource:
    """Read the Galaxy Builder folder (cutouts, masks, PSFs, models, Hart p_bar).

    Parameters
    ----------
    path
        Folder holding ``gzb_cutouts.npz`` and, optionally,
        ``galaxy-builder-catalogue.csv`` and ``compiled_hart_catalog.csv``.
    skip_bad
        Accepted for symmetry with the other readers (pixels are checked on import).
    allow_outside_root
        Accepted for symmetry: the file names are fixed, no catalogue names paths.

    Raises
    ------
    DataMissingError
        If the folder or ``gzb_cutouts.npz`` is missing.
    DataFormatError
        If the npz is empty, truncated or not an npz, holds no ``img_<objid>``
        arrays, a catalogue lacks ``dr7objid``, or a length or ``p_bar`` cell is
        text (named with line and column).
    """
    root = require_path(path, what="Galaxy Builder", kind="dir")
    npz = require_path(root / "gzb_cutouts.npz", what="Galaxy Builder cutouts", kind="file")
    try:
        with _open_npz(npz) as arrays:
            keys = list(arrays.files)
    except _NPZ_ERRORS as exc:
        raise DataFormatError(
            f"Galaxy Builder cutouts '{safe_text(npz)}' cannot be read (empty, truncated or "
            f"not an .npz): {' '.join(str(exc).split()) or type(exc).__name__}"
        ) from None
    ids = [k[4:] for k in keys if k.startswith("img_")]
    if not ids:
        raise DataFormatError(
            f"Galaxy Builder cutouts '{npz}' hold no 'img_<objid>' arrays (found: {keys[:5]})"
        )
    catalog = pd.DataFrame({"id": ids})
    models_csv = root / "galaxy-builder-catalogue.csv"
    if models_csv.is_file():
        catalog = catalog.merge(_models(models_csv), on="id", how="left")
        catalog["n_models"] = catalog["n_models"].fillna(0).astype(np.int64)
        catalog["has_bar"] = catalog["has_bar"].astype("boolean").fillna(False).astype(bool)
    else:
        log.info("no %s: component models not joined", models_csv)
    hart_csv = root / "compiled_hart_catalog.csv"
    if hart_csv.is_file():
        hart = read_table(hart_csv, what="Hart catalogue", dtype={"dr7objid": str})
        hart_where = f"Hart catalogue '{hart_csv}'"
        require_columns(hart, ["dr7objid"], where=hart_where)
        require_ids(hart["dr7objid"], where=hart_where, column="dr7objid")
        for column in _HART_NUMERIC:
            if column in hart.columns:
                hart[column] = numeric_column(hart[column], where=hart_where, column=column)
        keep = {"p_bar": "p_bar", "PETRO_THETA": "petro_theta_arcsec", "Z": "redshift"}
        hart = hart.drop_duplicates("dr7objid").rename(columns={"dr7objid": "id", **keep})
        columns = ["id", *[v for v in keep.values() if v in hart.columns]]
        catalog = catalog.merge(hart[columns], on="id", how="left")
    catalog["pixel_scale_arcsec"] = SDSS_PIXEL_SCALE_ARCSEC
    catalog["source_file"] = npz.name
    return GalaxyBuilderSource(
        catalog,
        root=root,
        npz=npz,
        metadata={"survey": "SDSS r", "native_pixel_scale_arcsec": SDSS_PIXEL_SCALE_ARCSEC},
    )
