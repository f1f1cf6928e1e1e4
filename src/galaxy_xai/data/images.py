"""Decoding image files: JPEG/PNG through Pillow, FITS through astropy, with validation.

Every decoder raises :class:`~galaxy_xai.errors.DataFormatError` naming the file when
the data are corrupt or unusable (truncated JPEG, unreadable FITS, NaN or infinite
pixels) and :class:`~galaxy_xai.errors.DataMissingError` when the file is absent.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from galaxy_xai.data.preprocess import center_crop_box
from galaxy_xai.errors import DataFormatError, DataMissingError

__all__ = [
    "FITS_SUFFIXES",
    "RASTER_SUFFIXES",
    "check_finite",
    "decode_raster",
    "is_fits",
    "raster_from_array",
    "read_fits",
]

RASTER_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".gif", ".webp")
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fits.fz", ".fz")


def is_fits(path: str | os.PathLike[str]) -> bool:
    """True when the file name ends in a FITS suffix (``.fits``, ``.fits.gz``, ...)."""
    name = str(path).lower()
    return name.endswith(FITS_SUFFIXES)


def _finish_raster(img: Image.Image, *, size: int, crop: float, channels: str) -> np.ndarray:
    mode = "L" if channels == "gray" else "RGB"
    if channels == "all":
        mode = "L" if img.mode in ("L", "I", "I;16", "F", "1") else "RGB"
    if img.mode != mode:
        img = img.convert(mode)
    box = center_crop_box(img.width, img.height, crop)
    img = img.resize((size, size), Image.Resampling.LANCZOS, box=box)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else np.ascontiguousarray(arr.transpose(2, 0, 1))


def decode_raster(
    path: str | os.PathLike[str], *, size: int, crop: float = 1.0, channels: str = "gray"
) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode an 8-bit image file, centre-crop it and resize it to ``size``.

    JPEGs are decoded at a reduced scale where that still leaves at least ``size``
    pixels across the crop (Pillow ``draft`` mode: 2-8x faster), then resized with
    Lanczos (antialiased).

    Parameters
    ----------
    path
        JPEG, PNG or another format Pillow reads.
    size
        Output side in pixels.
    crop
        Fraction of the shorter side kept about the centre.
    channels
        ``gray`` (ITU-R 601 luma), ``rgb``, or ``all`` (the file's own: grey or RGB).

    Returns
    -------
    image : numpy.ndarray
        uint8 ``(C, size, size)``.
    original_size : tuple of int
        ``(width, height)`` of the file in pixels.

    Raises
    ------
    DataMissingError
        If the file does not exist.
    DataFormatError
        If Pillow cannot identify or fully decode it (e.g. a truncated JPEG).
    """
    path = Path(path)
    try:
        with Image.open(path) as img:
            original = img.size
            if img.format == "JPEG":
                need = math.ceil(size / crop)
                img.draft("L" if channels == "gray" else "RGB", (need, need))
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img.load()
            return _finish_raster(img, size=size, crop=crop, channels=channels), original
    except FileNotFoundError:
        raise DataMissingError(f"image file '{path}' does not exist") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
        raise DataFormatError(f"image file '{path}' is corrupt or unreadable: {exc}") from None


def raster_from_array(
    array: np.ndarray, *, size: int, crop: float = 1.0, channels: str = "gray", where: str = ""
) -> np.ndarray:
    """Crop and resize an in-memory 8-bit ``(H, W)`` or ``(H, W, 3)`` image.

    Returns uint8 ``(C, size, size)``, like :func:`decode_raster`.
    """
    array = np.asarray(array)
    if (
        array.dtype != np.uint8
        or array.ndim not in (2, 3)
        or (array.ndim == 3 and array.shape[2] not in (1, 3))
    ):
        raise DataFormatError(
            f"{where}: expected an 8-bit (H, W) or (H, W, 3) image, found {array.dtype} {array.shape}"
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    img = Image.fromarray(np.ascontiguousarray(array))
    return _finish_raster(img, size=size, crop=crop, channels=channels)


def check_finite(image: np.ndarray, *, where: str) -> None:
    """Raise :class:`DataFormatError` if ``image`` holds NaN or infinite values.

    The message names ``where`` (file, row or id) and the first bad pixel.
    """
    bad = ~np.isfinite(image)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(image[first]) else "infinite"
        raise DataFormatError(
            f"{where}: {int(bad.sum())} NaN or infinite pixel(s), first {kind} at index {first}"
        )


def _pixel_scale_arcsec(header: object) -> float:
    """Pixel scale (arcsec) from a FITS header's celestial WCS, NaN if there is none."""
    from astropy.wcs import WCS, FITSFixedWarning
    from astropy.wcs.utils import proj_plane_pixel_scales

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(header, naxis=2)
        if not wcs.has_celestial:
            return math.nan
        scales = proj_plane_pixel_scales(wcs.celestial) * 3600.0  # deg -> arcsec
        return float(np.sqrt(scales[0] * scales[1]))
    except Exception:
        return math.nan


def read_fits(
    path: str | os.PathLike[str], *, hdu: int | str | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a FITS cutout as float32 ``(C, H, W)`` with its pixel scale and bands.

    Parameters
    ----------
    path
        FITS file (``.fits``, ``.fits.gz``, ``.fits.fz``...).
    hdu
        HDU index or name; default: the first HDU holding 2-D or 3-D image data.

    Returns
    -------
    image : numpy.ndarray
        float32 ``(C, H, W)`` (C = 1 for a 2-D stamp), native units.
    info : dict
        ``pixel_scale_arcsec`` (from the WCS; NaN if absent), ``bands`` (from the
        ``BANDS`` or ``FILTER`` keywords, may be empty), ``hdu`` (index used).

    Raises
    ------
    DataMissingError
        If the file does not exist.
    DataFormatError
        If it is not valid FITS, has no 2-D/3-D image, or holds NaN/infinite pixels.
    """
    from astropy.io import fits

    path = Path(path)
    if not path.is_file():
        raise DataMissingError(f"FITS file '{path}' does not exist")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # astropy's VerifyWarning on odd headers
            with fits.open(path, memmap=False) as hdul:
                if hdu is None:
                    index = next(
                        (
                            i
                            for i, h in enumerate(hdul)
                            if h.is_image and h.data is not None and h.data.ndim in (2, 3)
                        ),
                        None,
                    )
                    if index is None:
                        raise DataFormatError(
                            f"FITS file '{path}' has no 2-D or 3-D image HDU "
                            f"(found: {', '.join(type(h).__name__ for h in hdul)})"
                        )
                else:
                    index = hdul.index_of(hdu)
                header = hdul[index].header
                data = np.asarray(hdul[index].data, dtype=np.float32)
    except DataFormatError:
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise DataFormatError(f"FITS file '{path}' is corrupt or unreadable: {exc}") from None
    if data.ndim == 2:
        data = data[None]
    elif data.ndim != 3:
        raise DataFormatError(
            f"FITS file '{path}' HDU {index}: expected 2-D or 3-D data, found {data.shape}"
        )
    check_finite(data, where=f"FITS file '{path}'")
    bands_text = str(header.get("BANDS", header.get("FILTER", "")) or "").strip()
    bands = (
        list(bands_text)
        if data.shape[0] > 1 and len(bands_text) == data.shape[0]
        else ([bands_text] if bands_text and data.shape[0] == 1 else [])
    )
    info: dict[str, Any] = {
        "pixel_scale_arcsec": _pixel_scale_arcsec(header),
        "bands": bands,
        "hdu": index,
    }
    return np.ascontiguousarray(data), info
