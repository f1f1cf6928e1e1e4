"""Galaxy Zoo DECaLS / zoobot-style catalogues: one row per galaxy with a file column
(``file_loc``, as in zoobot) and vote columns (``smooth-or-featured_smooth``,
``..._fraction``, ``..._total-votes``...), images as PNG/JPEG (or FITS).

Ids come from ``id_str`` (zoobot), ``iauname`` or ``id``. Only numeric columns are
kept besides the id (vote counts and fractions, ``redshift``, ``ra``, ``dec``...). GZ
DECaLS cutouts are scaled to the galaxy, so ``pixel_scale_arcsec`` is NaN unless the
catalogue has a ``pixel_scale_arcsec`` column.
"""

from __future__ import annotations

import os

from galaxy_xai.data.readers.base import FileSource
from galaxy_xai.data.readers.folder import read_catalog_with_files

__all__ = ["read_gz_decals"]


def read_gz_decals(
    path: str | os.PathLike[str],
    *,
    skip_bad: bool = False,
    file_column: str | None = None,
    allow_outside_root: bool = False,
) -> FileSource:
    """Read a GZ DECaLS / zoobot catalogue with a file column.

    Parameters
    ----------
    path
        The catalogue (``.csv``, ``.csv.gz``, ``.parquet``) or a folder holding one;
        relative file paths are taken from the catalogue's folder.
    skip_bad
        Skip rows whose image is missing instead of raising.
    file_column
        Name of the file column (default: ``file_loc`` or another of
        :data:`galaxy_xai.data.readers.folder.FILE_COLUMNS`).
    allow_outside_root
        Accept images that resolve (``..``, absolute paths, symlinks) outside the
        catalogue's folder.

    Raises
    ------
    DataMissingError, DataFormatError
        See :func:`~galaxy_xai.data.readers.folder.read_catalog_with_files`.
    """
    source = read_catalog_with_files(
        path,
        skip_bad=skip_bad,
        what="GZ DECaLS catalogue",
        file_column=file_column,
        numeric_only=True,
        allow_outside_root=allow_outside_root,
    )
    source.fmt = "gz-decals"
    source.metadata["vote_scheme"] = "gz-decals"
    return source
