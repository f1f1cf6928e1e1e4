"""Decoding image files: JPEG/PNG through Pillow, FITS through astropy, with validation.

Every decoder raises :class:`~galaxy_xai.errors.DataFormatError` naming the file when
the data are corrupt or unusable (truncated JPEG or FITS, unreadable FITS, NaN or
infinite pixels, a header declaring more than :data:`MAX_IMAGE_PIXELS`) and
:class:`~galaxy_xai.errors.DataMissingError` when the file is absent.

The declared size of an image is checked *before* its pixels are decoded, so a small
file whose header claims an enormous image (a "decompression bomb") costs nothing.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from galaxy_xai.data.preprocess import center_crop_box
from galaxy_xai.errors import DataFormatError, DataMissingError
from galaxy_xai.io import safe_text

__all__ = [
    "FITS_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "MAX_IMAGE_VALUES",
    "RASTER_SUFFIXES",
    "check_declared_size",
    "check_finite",
    "decode_raster",
    "is_fits",
    "open_raster",
    "raster_from_array",
    "read_fits",
    "safe_text",
]

RASTER_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".gif", ".webp")
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fits.fz", ".fz")
#: Most pixels (width x height) an image may declare before it is decoded: 8192 x 8192,
#: far above any galaxy cutout and below Pillow's own warning limit (89 M pixels).
MAX_IMAGE_PIXELS = 8192 * 8192
#: Most values (width x height x bands) an image may declare: four bands at the pixel
#: limit, 1 GiB as float32 (FITS cubes, Galaxy10 rows, Galaxy Builder arrays).
MAX_IMAGE_VALUES = 4 * MAX_IMAGE_PIXELS
_PIL_BOMB_SIZE = re.compile(r"\((\d+) pixels\)")


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (some libraries wrap theirs)."""
    return " ".join(safe_text(exc).split())


def check_declared_size(width: int, height: int, bands: int = 1, *, where: str) -> None:
    """Refuse an image whose header declares more than the package limits.

    Parameters
    ----------
    width, height, bands
        The size the file declares (before anything is decoded).
    where
        The file (and HDU, row or array) for the message.

    Raises
    ------
    DataFormatError
        If ``width * height`` exceeds :data:`MAX_IMAGE_PIXELS` or
        ``width * height * bands`` exceeds :data:`MAX_IMAGE_VALUES`.
    """
    pixels = int(width) * int(height)
    if pixels > MAX_IMAGE_PIXELS or pixels * int(bands) > MAX_IMAGE_VALUES:
        size = f"{width} x {height} pixels" + (f" x {bands} bands" if bands > 1 else "")
        limit = (
            f"{MAX_IMAGE_PIXELS} pixels (8192 x 8192)"
            if pixels > MAX_IMAGE_PIXELS
            else f"{MAX_IMAGE_VALUES} values (pixels x bands)"
        )
        raise DataFormatError(
            f"{where} declares an image of {size}, over the limit of {limit}; "
            "refusing to decode it (a decompression bomb, or not a cutout)"
        )


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


def open_raster(path: str | os.PathLike[str]) -> Image.Image:
    """Open an 8-bit image file with Pillow, reading only its header.

    The declared size is checked against :data:`MAX_IMAGE_PIXELS` before anything is
    decoded; Pillow's own ``DecompressionBombWarning``/``Error`` never escape.

    Raises
    ------
    DataMissingError
        If the file does not exist.
    DataFormatError
        If Pillow cannot identify it, or it declares too many pixels.
    """
    path = Path(path)
    shown = safe_text(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except FileNotFoundError:
        raise DataMissingError(f"image file '{shown}' does not exist") from None
    except Image.DecompressionBombError as exc:
        found = _PIL_BOMB_SIZE.search(str(exc))
        declared = f"{found.group(1)} pixels" if found else "too many pixels"
        raise DataFormatError(
            f"image file '{shown}' declares an image of {declared}, over the limit of "
            f"{MAX_IMAGE_PIXELS} pixels (8192 x 8192); refusing to decode it "
            "(a decompression bomb, or not a cutout)"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
        raise DataFormatError(
            f"image file '{shown}' is corrupt or unreadable: {_one_line(exc)}"
        ) from None
    try:
        check_declared_size(img.width, img.height, where=f"image file '{shown}'")
    except DataFormatError:
        img.close()
        raise
    return img


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
        If Pillow cannot identify or fully decode it (e.g. a truncated JPEG), or its
        header declares more than :data:`MAX_IMAGE_PIXELS` (checked before decoding).
    """
    path = Path(path)
    with open_raster(path) as img:
        try:
            original = img.size
            if img.format == "JPEG":
                need = math.ceil(size / crop)
                img.draft("L" if channels == "gray" else "RGB", (need, need))
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img.load()
            return _finish_raster(img, size=size, crop=crop, channels=channels), original
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
            raise DataFormatError(
                f"image file '{safe_text(path)}' is corrupt or unreadable: {_one_line(exc)}"
            ) from None


def raster_from_array(
    array: np.ndarray, *, size: int, crop: float = 1.0, channels: str = "gray", where: str = ""
) -> np.ndarray:
    """Crop and resize an in-memory 8-bit ``(H, W)`` or ``(H, W, 3)`` image.

    Returns uint8 ``(C, size, size)``, like :func:`decode_raster`.

    Raises
    ------
    DataFormatError
        If ``array`` is not uint8, or not ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)``.
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

    Raises
    ------
    DataFormatError
        If any pixel of ``image`` is NaN or infinite.
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


def _hdu_shape(hdu: Any) -> tuple[int, ...]:
    """An image HDU's data shape as its header declares it (nothing is read)."""
    return tuple(int(n) for n in (hdu.shape or ()))


def _check_fits_declared(hdul: Any, index: int, path: Path) -> tuple[int, ...]:
    """Check HDU ``index``'s declared shape and that the file holds all its data."""
    shown = safe_text(path)
    hdu = hdul[index]
    shape = _hdu_shape(hdu)
    if len(shape) not in (2, 3) or min(shape, default=0) < 1:
        raise DataFormatError(
            f"FITS file '{shown}' HDU {index}: expected 2-D or 3-D data, found {shape}"
        )
    bands = shape[0] if len(shape) == 3 else 1
    check_declared_size(shape[-1], shape[-2], bands, where=f"FITS file '{shown}' HDU {index}")
    compressed = type(hdu).__name__ == "CompImageHDU" or path.name.lower().endswith(".gz")
    if not compressed:
        nbytes = math.prod(shape) * abs(int(hdu.header.get("BITPIX", 8))) // 8
        end = int(hdul.fileinfo(index)["datLoc"]) + nbytes
        actual = path.stat().st_size
        if actual < end:
            raise DataFormatError(
                f"FITS file '{shown}' is corrupt or unreadable: truncated, HDU {index} declares "
                f"{' x '.join(map(str, shape[::-1]))} pixels ({nbytes} bytes of data) "
                f"but the file ends {end - actual} bytes short"
            )
    return shape


def read_fits(
    path: str | os.PathLike[str], *, hdu: int | str | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a FITS cutout as float32 ``(C, H, W)`` with its pixel scale and bands.

    The HDU is chosen, and its size checked, from the headers alone; the data are
    read only once they are known to fit (:data:`MAX_IMAGE_PIXELS`,
    :data:`MAX_IMAGE_VALUES`) and to be wholly in the file.

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
        If it is empty, truncated or not valid FITS, has no 2-D/3-D image, declares
        an image over the size limits, or holds NaN/infinite pixels.
    """
    from astropy.io import fits

    path = Path(path)
    shown = safe_text(path)
    if not path.is_file():
        raise DataMissingError(f"FITS file '{shown}' does not exist")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # astropy's VerifyWarning on odd headers
            # our own handle: astropy leaves its file open when a header is damaged
            with open(path, "rb") as fh, fits.open(fh, memmap=False, lazy_load_hdus=False) as hdul:
                if hdu is None:
                    index = next(
                        (
                            i
                            for i, h in enumerate(hdul)
                            if h.is_image
                            and len(_hdu_shape(h)) in (2, 3)
                            and min(_hdu_shape(h)) > 0
                        ),
                        None,
                    )
                    if index is None:
                        raise DataFormatError(
                            f"FITS file '{shown}' has no 2-D or 3-D image HDU "
                            f"(found: {', '.join(type(h).__name__ for h in hdul)})"
                        )
                else:
                    index = hdul.index_of(hdu)
                _check_fits_declared(hdul, index, path)
                header = hdul[index].header
                data = np.asarray(hdul[index].data, dtype=np.float32)
    except DataFormatError:
        raise
    except (
        OSError,
        EOFError,
        zlib.error,
        gzip.BadGzipFile,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
    ) as exc:
        raise DataFormatError(
            f"FITS file '{shown}' is corrupt or unreadable: {_one_line(exc)}"
        ) from None
    if data.ndim == 2:
        data = data[None]
    elif data.ndim != 3:
        raise DataFormatError(
            f"FITS file '{shown}' HDU {index}: expected 2-D or 3-D data, found {data.shape}"
        )
    check_finite(data, where=f"FITS file '{shown}'")
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
