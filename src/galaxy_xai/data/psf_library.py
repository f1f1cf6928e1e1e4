"""PSF library files: real PSF images for the simulations (``survey.psf_library``).

With ``survey.psf_library`` set to a library file, each galaxy is convolved with one
PSF image of the library, drawn at random from the galaxy's own ``psf`` stream,
instead of a Moffat profile; its measured FWHM becomes the galaxy's
``psf_fwhm_arcsec`` and its row the catalogue column ``psf_library_index``.

File format (HDF5, written by :func:`write_psf_library`):

- dataset ``psf``: ``(N, K, K)`` float, ``K`` odd, each image finite, >= 0 in total
  and centred on the central pixel; stored as given, normalised to unit sum on read;
- attribute ``pixel_scale_arcsec``: the images' pixel scale (> 0);
- dataset ``id`` (optional): ``N`` strings naming where each PSF comes from.

The images are effective PSFs (their pixel's response included), as survey pipelines
give them; :mod:`galaxy_xai.simulate.psf_library` interpolates them
(:class:`galsim.InterpolatedImage`) and draws them with the simulation's own pixel,
which blurs them by the library's pixel once more (0.396 arcsec for SDSS: a small
effect next to a 1.4 arcsec FWHM).
:func:`galaxy_builder_psf_library` builds a library from the 11 x 11 SDSS r-band PSFs
of the Galaxy Builder cutouts.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import galsim
import numpy as np

from galaxy_xai.errors import DataFormatError

__all__ = ["PsfLibrary", "galaxy_builder_psf_library", "read_psf_library", "write_psf_library"]


@dataclass(frozen=True, eq=False)
class PsfLibrary:
    """The PSF images of one library file.

    Attributes
    ----------
    path
        The file they were read from.
    images
        ``(N, K, K)`` float64, each normalised to unit sum (read-only).
    pixel_scale_arcsec
        Pixel scale of the images.
    fwhm_arcsec
        ``(N,)`` FWHM of each image (GalSim's ``Image.calculateFWHM``), arcsec.
    ids
        Where each PSF comes from (empty strings when the file does not say).
    """

    path: str
    images: np.ndarray
    pixel_scale_arcsec: float
    fwhm_arcsec: np.ndarray
    ids: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.images.shape[0])


def _fwhm_arcsec(image: np.ndarray, scale: float) -> float:
    # the area above half the maximum, about the image's true centre
    return float(galsim.Image(np.ascontiguousarray(image), scale=scale).calculateFWHM())


def _malformed(path: Path, reason: str) -> DataFormatError:
    return DataFormatError(f"PSF library '{path}': {reason}")


def _check_images(path: Path, images: np.ndarray) -> np.ndarray:
    if images.ndim != 3 or images.shape[0] == 0:
        raise _malformed(path, f"'psf' must be (N, K, K) with N >= 1, not {images.shape}")
    k = images.shape[1]
    if images.shape[2] != k or k % 2 == 0 or k < 3:
        raise _malformed(
            path, f"'psf' images must be square and odd (K >= 3), not {images.shape[1:]}"
        )
    images = images.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(images).all(axis=(1, 2)))
    if bad.size:
        raise _malformed(path, f"PSF {int(bad[0])} holds NaN or infinite pixels")
    totals = images.sum(axis=(1, 2))
    bad = np.flatnonzero(~(totals > 0))
    if bad.size:
        raise _malformed(path, f"PSF {int(bad[0])} sums to {totals[bad[0]]:.3g}; it must be > 0")
    images = images / totals[:, None, None]
    c = k // 2
    off = np.flatnonzero(images[:, c, c] < images.max(axis=(1, 2)) * 0.5)
    if off.size:
        raise _malformed(
            path, f"PSF {int(off[0])} is not centred: its central pixel is below half its peak"
        )
    images.setflags(write=False)
    return images


def read_psf_library(path: str | os.PathLike[str]) -> PsfLibrary:
    """Read and check a PSF library file (cached while the file is unchanged).

    Raises
    ------
    DataMissingError
        If ``path`` is not a file.
    DataFormatError
        If it is not HDF5 or damaged, lacks the ``psf`` array or a positive finite
        ``pixel_scale_arcsec`` attribute, an array is a link to another file or keeps
        its data outside the file, an image is not square and odd, holds NaN, sums to
        <= 0 or is not centred, or ``id`` does not hold one string per image.
    """
    from galaxy_xai.data.readers.base import require_path

    file = require_path(path, what="PSF library", kind="file")
    stat = file.stat()
    return _read(str(file.resolve()), stat.st_mtime_ns, stat.st_size, str(file))


@functools.lru_cache(maxsize=8)
def _read(resolved: str, mtime_ns: int, size: int, shown: str) -> PsfLibrary:
    import h5py

    from galaxy_xai.data.store import DAMAGED, checked_array, damaged

    path = Path(shown)
    where = f"PSF library '{path}'"
    try:
        f = h5py.File(resolved, "r")
    except OSError as exc:
        raise _malformed(path, f"cannot be read as HDF5 ({' '.join(str(exc).split())})") from None
    with f:
        # checked_array refuses links to other files and data kept outside this one
        psf = checked_array(f, "psf", where=where, ndims=(3,), kinds="uif",
                            expected="(N, K, K) PSF images")  # fmt: skip
        id_array = None
        if f.get("id", getlink=True) is not None:
            n = psf.shape[0]
            id_array = checked_array(f, "id", where=where, ndims=(1,), kinds="T",
                                     expected="one id per PSF",
                                     rows=(n, f"'psf' holds {n} PSFs"))  # fmt: skip
        try:
            images = np.asarray(psf[()])
            scale = psf.attrs.get("pixel_scale_arcsec", f.attrs.get("pixel_scale_arcsec"))
            ids_raw = None if id_array is None else id_array[()]
        except DAMAGED as exc:
            raise damaged("PSF library", path, exc) from None
    try:
        scale = float(np.asarray(scale).item()) if scale is not None else float("nan")
    except (TypeError, ValueError):
        scale = float("nan")
    if not (np.isfinite(scale) and scale > 0):
        raise _malformed(path, "attribute 'pixel_scale_arcsec' must be a number > 0")
    images = _check_images(path, images)
    n = images.shape[0]
    ids: tuple[str, ...] = ("",) * n
    if ids_raw is not None:  # one per PSF: checked_array counted the rows
        ids = tuple(v.decode() if isinstance(v, bytes) else str(v) for v in ids_raw)
    fwhm = np.array([_fwhm_arcsec(im, scale) for im in images])
    fwhm.setflags(write=False)
    return PsfLibrary(shown, images, scale, fwhm, ids)


def write_psf_library(
    out: str | os.PathLike[str],
    images: np.ndarray,
    pixel_scale_arcsec: float,
    ids: list[str] | None = None,
) -> Path:
    """Write ``images`` ``(N, K, K)`` as a PSF library (atomically) and return ``out``.

    Raises
    ------
    DataFormatError
        If the images would not read back (see :func:`read_psf_library`).
    ParameterError
        If ``pixel_scale_arcsec`` is not > 0 or ``ids`` has the wrong length.
    """
    import h5py

    from galaxy_xai.errors import ParameterError
    from galaxy_xai.io import atomic_output

    out = Path(out)
    if not (np.isfinite(pixel_scale_arcsec) and pixel_scale_arcsec > 0):
        raise ParameterError("pixel_scale_arcsec", pixel_scale_arcsec, "must be > 0")
    checked = _check_images(out, np.asarray(images))
    if ids is not None and len(ids) != checked.shape[0]:
        raise ParameterError("ids", len(ids), f"must hold one id per PSF ({checked.shape[0]})")
    with atomic_output(out) as tmp, h5py.File(tmp, "w") as f:
        ds = f.create_dataset("psf", data=checked.astype(np.float32))
        ds.attrs["pixel_scale_arcsec"] = float(pixel_scale_arcsec)
        if ids is not None:
            f.create_dataset("id", data=np.array(ids, dtype=object), dtype=h5py.string_dtype())
    return out


def galaxy_builder_psf_library(
    galaxy_builder: str | os.PathLike[str],
    out: str | os.PathLike[str],
    ids: list[str] | None = None,
) -> Path:
    """A PSF library of the Galaxy Builder SDSS r-band PSFs (``psf_<objid>``, 11 x 11).

    Parameters
    ----------
    galaxy_builder
        The Galaxy Builder folder (``gzb_cutouts.npz``).
    out
        The library file to write.
    ids
        Only these objids (e.g. the calibration half of a realism comparison), in this
        order; all of them by default.

    Raises
    ------
    DataMissingError, DataFormatError
        If the folder cannot be read (see ``read_galaxy_builder``) or a PSF is malformed.
    ParameterError
        If an id of ``ids`` is not in the folder.
    """
    from galaxy_xai.data.readers.galaxy_builder import SDSS_PIXEL_SCALE_ARCSEC, read_galaxy_builder
    from galaxy_xai.errors import ParameterError

    source = read_galaxy_builder(galaxy_builder)
    try:
        known = list(source.catalog["id"].astype(str))
        wanted = known if ids is None else [str(i) for i in ids]
        rows = {objid: i for i, objid in enumerate(known)}
        missing = [i for i in wanted if i not in rows]
        if missing:
            raise ParameterError(
                "ids", missing[0], f"not in the Galaxy Builder folder '{galaxy_builder}'"
            )
        images = np.stack([source.psf(rows[i]) for i in wanted])
    finally:
        source.close()
    return write_psf_library(out, images, SDSS_PIXEL_SCALE_ARCSEC, wanted)
