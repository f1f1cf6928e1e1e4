"""One reader per catalogue format; each returns an :class:`ImageSource` (or, for
catalogue-only tables, a DataFrame). :data:`READERS` maps the CLI format names."""

from __future__ import annotations

from collections.abc import Callable

from galaxy_xai.data.readers.base import FileSource, ImageSource
from galaxy_xai.data.readers.decals import read_gz_decals
from galaxy_xai.data.readers.fits import read_fits_cutouts
from galaxy_xai.data.readers.folder import read_folder
from galaxy_xai.data.readers.galaxy10 import read_galaxy10
from galaxy_xai.data.readers.galaxy_builder import GalaxyBuilderSource, read_galaxy_builder
from galaxy_xai.data.readers.gz1 import (
    GZ1_CLASS_NAMES,
    GZ1_MORPHOLOGY_MAP,
    read_gz1,
    read_gz1_labels,
)
from galaxy_xai.data.readers.gz2 import (
    KAGGLE_VOTE_COLUMNS,
    read_gz2_hart16,
    read_gz2_kaggle,
    read_gz2_kaggle_folders,
    read_gz2_votes_table,
)
from galaxy_xai.data.readers.hoyle import read_hoyle_bar_lengths

__all__ = [
    "GZ1_CLASS_NAMES",
    "GZ1_MORPHOLOGY_MAP",
    "KAGGLE_VOTE_COLUMNS",
    "READERS",
    "FileSource",
    "GalaxyBuilderSource",
    "ImageSource",
    "read_fits_cutouts",
    "read_folder",
    "read_galaxy10",
    "read_galaxy_builder",
    "read_gz1",
    "read_gz1_labels",
    "read_gz2_hart16",
    "read_gz2_kaggle",
    "read_gz2_kaggle_folders",
    "read_gz2_votes_table",
    "read_gz_decals",
    "read_hoyle_bar_lengths",
]

#: CLI format name (:data:`galaxy_xai.names.IMPORT_FORMATS`, the same names in the same
#: order) -> reader ``(path, *, skip_bad) -> ImageSource``.
READERS: dict[str, Callable[..., ImageSource]] = {
    "gz1": read_gz1,
    "gz2-kaggle": read_gz2_kaggle,
    "gz2-kaggle-folders": read_gz2_kaggle_folders,
    "gz2-hart16": read_gz2_hart16,
    "gz-decals": read_gz_decals,
    "galaxy10": read_galaxy10,
    "galaxy-builder": read_galaxy_builder,
    "fits": read_fits_cutouts,
    "folder": read_folder,
}
