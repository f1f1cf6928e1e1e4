"""Drawing the PSFs of a library file (:mod:`galaxy_xai.data.psf_library`) in simulations."""

from __future__ import annotations

import functools

import galsim
import numpy as np

from galaxy_xai.data.psf_library import read_psf_library

__all__ = ["library_kernel", "library_profile"]


@functools.lru_cache(maxsize=1024)
def library_profile(path: str, index: int) -> galsim.GSObject:
    """PSF ``index`` of library ``path`` as a unit-flux GalSim profile."""
    lib = read_psf_library(path)
    image = galsim.Image(np.ascontiguousarray(lib.images[index]), scale=lib.pixel_scale_arcsec)
    return galsim.InterpolatedImage(image, normalization="flux", flux=1.0)


@functools.lru_cache(maxsize=1024)
def library_kernel(path: str, index: int, scale: float) -> np.ndarray:
    """PSF ``index`` of library ``path`` at pixel scale ``scale``: odd, unit sum.

    Drawn with the pixel of ``scale`` (as GalSim draws the galaxy), over at least the
    library image's own extent and three FWHM either side.
    """
    lib = read_psf_library(path)
    extent = max(lib.images.shape[1] / 2 * lib.pixel_scale_arcsec, 3 * lib.fwhm_arcsec[index])
    radius = max(1, int(np.ceil(extent / scale)))
    n = 2 * radius + 1
    kernel = library_profile(path, index).drawImage(nx=n, ny=n, scale=scale, dtype=np.float64).array
    kernel = np.clip(kernel, 0, None)
    kernel /= kernel.sum()
    kernel.setflags(write=False)
    return kernel
