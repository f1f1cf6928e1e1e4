"""FITS cutouts, single band (e.g. an HST COSMOS stamp) or multi-band cubes (e.g.
DECaLS g, r, z as ``(3, H, W)``), read with astropy.

The source is one FITS file, a folder of them (``*.fits``, ``*.fit``, ``*.fits.gz``,
``*.fits.fz``; or a glob ``pattern``), or a catalogue with a file column (as for the
``folder`` format). ``id`` is the file name without its FITS suffix. The pixel scale
comes from each file's WCS. Files in a folder that resolve (through symlinks) outside
it, and file names that are not valid UTF-8, are refused (see
:mod:`galaxy_xai.data.readers.base`).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pandas as pd

from galaxy_xai.data.images import FITS_SUFFIXES, is_fits, safe_text
from galaxy_xai.data.readers.base import (
    FileSource,
    check_inside_root,
    require_path,
    utf8_names,
)
from galaxy_xai.data.readers.folder import _CATALOG_SUFFIXES, read_catalog_with_files
from galaxy_xai.errors import DataFormatError, ParameterError

__all__ = ["fits_id", "read_fits_cutouts"]


def fits_id(name: str) -> str:
    """File name without its FITS suffix(es): ``a.fits.gz`` -> ``a``."""
    lower = name.lower()
    for suffix in sorted(FITS_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def _matching(root: Path, pattern: str, *, allow_outside_root: bool) -> list[str]:
    """The files matching the glob ``pattern``: relative to ``root``, or absolute.

    Raises
    ------
    ParameterError
        If the pattern is empty or holds a NUL, or is absolute without
        ``allow_outside_root`` (patterns are relative to the data folder).
    """
    if not pattern.strip() or "\x00" in pattern:
        raise ParameterError("pattern", pattern, "must be a glob such as '*.fits'")
    if os.path.isabs(os.path.expanduser(pattern)):
        if not allow_outside_root:
            raise ParameterError(
                "pattern",
                pattern,
                f"must be relative to the FITS folder '{safe_text(root)}' (e.g. '*.fits' "
                "or 'stamps/*.fits'); use --allow-outside-root to read files elsewhere",
            )
        found = glob.glob(os.path.expanduser(pattern), recursive=True)
        return sorted(p for p in found if os.path.isfile(p))
    try:
        found_here = [p for p in root.glob(pattern) if p.is_file()]
    except (ValueError, NotImplementedError) as exc:  # patterns pathlib cannot use
        raise ParameterError("pattern", pattern, f"is not a usable glob ({exc})") from None
    return sorted(os.path.relpath(p, root) for p in found_here)


def read_fits_cutouts(
    path: str | os.PathLike[str],
    *,
    skip_bad: bool = False,
    pattern: str | None = None,
    allow_outside_root: bool = False,
) -> FileSource:
    """Read FITS cutouts from a file, a folder or a catalogue with a file column.

    Parameters
    ----------
    path
        A ``.fits`` file, a folder of FITS files, or a ``.csv``/``.parquet``
        catalogue with a file column.
    skip_bad
        Skip missing files (catalogue) and file names that are not valid UTF-8
        instead of raising; corrupt files and NaN pixels are handled when pixels are
        read (see the importer).
    pattern
        Glob selecting files in a folder (default: every FITS suffix), relative to
        it; an absolute pattern needs ``allow_outside_root``.
    allow_outside_root
        Accept files that resolve (``..``, absolute paths, symlinks) outside the
        folder.

    Raises
    ------
    ParameterError
        If ``pattern`` is empty, absolute (without ``allow_outside_root``) or given
        with a file instead of a folder.
    DataMissingError
        If the path is absent.
    DataFormatError
        If a folder holds no FITS files, a file resolves outside the folder, or
        (without ``skip_bad``) a file name is not valid UTF-8.
    """
    path = require_path(path, what="FITS", kind="any")
    if pattern is not None and path.is_file():
        raise ParameterError(
            "pattern", pattern, f"selects files in a folder, but '{safe_text(path)}' is a file"
        )
    if path.is_file() and path.name.lower().endswith(_CATALOG_SUFFIXES):
        source = read_catalog_with_files(
            path, skip_bad=skip_bad, what="FITS catalogue", allow_outside_root=allow_outside_root
        )
    else:
        skipped: list[dict[str, str]] = []
        if path.is_file():  # named by the user: a name pandas cannot hold is an error
            root = path.parent
            names = utf8_names([path.name], folder=root, skip_bad=False, skipped=skipped)
        else:
            root = path
            names = (
                sorted(p.name for p in root.iterdir() if p.is_file() and is_fits(p.name))
                if pattern is None
                else _matching(root, pattern, allow_outside_root=allow_outside_root)
            )
            names = utf8_names(names, folder=root, skip_bad=skip_bad, skipped=skipped)
            if not allow_outside_root:
                check_inside_root(root, names, where=f"FITS folder '{safe_text(root)}'")
        if not names:
            raise DataFormatError(
                f"FITS folder '{safe_text(root)}' holds no FITS files"
                + (f" matching {pattern!r}" if pattern else f" ({', '.join(FITS_SUFFIXES)})")
            )
        catalog = pd.DataFrame({"id": [fits_id(Path(n).name) for n in names], "source_file": names})
        source = FileSource(catalog, root=root, skipped=skipped)
    source.fmt = "fits"
    return source
