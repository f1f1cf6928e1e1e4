"""FITS cutouts, single band (e.g. an HST COSMOS stamp) or multi-band cubes (e.g.
DECaLS g, r, z as ``(3, H, W)``), read with astropy.

The source is one FITS file, a folder of them (``*.fits``, ``*.fit``, ``*.fits.gz``,
``*.fits.fz``; or a glob ``pattern``), or a catalogue with a file column (as for the
``folder`` format). ``id`` is the file name without its FITS suffix. The pixel scale
comes from each file's WCS.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from galaxy_xai.data.images import FITS_SUFFIXES, is_fits
from galaxy_xai.data.readers.base import FileSource, require_path
from galaxy_xai.data.readers.folder import _CATALOG_SUFFIXES, read_catalog_with_files
from galaxy_xai.errors import DataFormatError

__all__ = ["fits_id", "read_fits_cutouts"]


def fits_id(name: str) -> str:
    """File name without its FITS suffix(es): ``a.fits.gz`` -> ``a``."""
    lower = name.lower()
    for suffix in sorted(FITS_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def read_fits_cutouts(
    path: str | os.PathLike[str], *, skip_bad: bool = False, pattern: str | None = None
) -> FileSource:
    """Read FITS cutouts from a file, a folder or a catalogue with a file column.

    Parameters
    ----------
    path
        A ``.fits`` file, a folder of FITS files, or a ``.csv``/``.parquet``
        catalogue with a file column.
    skip_bad
        Skip missing files (catalogue) instead of raising; corrupt files and NaN
        pixels are handled when pixels are read (see the importer).
    pattern
        Glob selecting files in a folder (default: every FITS suffix).

    Raises
    ------
    DataMissingError
        If the path is absent.
    DataFormatError
        If a folder holds no FITS files.
    """
    path = require_path(path, what="FITS", kind="any")
    if path.is_file() and path.name.lower().endswith(_CATALOG_SUFFIXES):
        source = read_catalog_with_files(path, skip_bad=skip_bad, what="FITS catalogue")
    else:
        if path.is_file():
            root, names = path.parent, [path.name]
        else:
            root = path
            names = sorted(
                p.name
                for p in (root.glob(pattern) if pattern else root.iterdir())
                if p.is_file() and (pattern or is_fits(p.name))
            )
        if not names:
            raise DataFormatError(
                f"FITS folder '{root}' holds no FITS files"
                + (f" matching {pattern!r}" if pattern else f" ({', '.join(FITS_SUFFIXES)})")
            )
        catalog = pd.DataFrame({"id": [fits_id(n) for n in names], "source_file": names})
        source = FileSource(catalog, root=root)
    source.fmt = "fits"
    return source
