"""Galaxy Zoo 1 image folder: ``images/<objid>.jpeg`` plus a class CSV (``OBJID,CLASS``).

The integer ``CLASS`` is the GZ1 leaf class of Lintott et al. (2008, 2011) as used in
the public GZ1 image sets: 0 elliptical, 1 clockwise spiral, 2 anticlockwise spiral,
3 edge-on disk, 4 don't know, 5 merger. SDSS pixel scale is not recorded (GZ1
cutouts were scaled by galaxy size), so ``pixel_scale_arcsec`` is NaN.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from galaxy_xai.data.readers.base import (
    FileSource,
    check_id_names,
    check_unique_ids,
    integer_column,
    match_files,
    read_table,
    require_columns,
    require_path,
)

__all__ = ["GZ1_CLASS_NAMES", "GZ1_MORPHOLOGY_MAP", "read_gz1", "read_gz1_labels"]

#: GZ1 leaf classes in the order of the integer ``CLASS`` / ``label``.
GZ1_CLASS_NAMES = (
    "elliptical",
    "clockwise spiral",
    "anticlockwise spiral",
    "edge-on disk",
    "don't know",
    "merger",
)
#: GZ1 leaf class -> morphology class (Lintott et al. 2008): the four classes of
#: ``gz1-classify``, the shipped ``gz1-morphology`` model and the ``gz1-4`` distillation
#: preset. Spirals of both senses merge; "don't know" (4) maps to None (dropped).
GZ1_MORPHOLOGY_MAP: dict[int, str | None] = {
    0: "elliptical", 1: "spiral", 2: "spiral", 3: "edge-on", 4: None, 5: "merger",
}  # fmt: skip
_IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")


def _labels_file(root: Path) -> Path:
    for name in ("labels.csv", "labels.csv.gz"):
        if (root / name).is_file():
            return root / name
    return root / "labels.csv"


def read_gz1_labels(path: str | os.PathLike[str]):
    """The GZ1 class CSV as a DataFrame with ``id`` (str), ``label`` (int 0..5).

    ``path`` is the CSV or the folder holding ``labels.csv``.

    Raises
    ------
    DataMissingError
        If the file is absent.
    DataFormatError
        On missing ``OBJID``/``CLASS`` columns, duplicate ids, ids holding a path
        separator or ``..``, or a ``CLASS`` cell that is not a whole number 0..5
        (text, ``1.5``, empty, negative); the message names the line and column.
    """
    path = require_path(path, what="GZ1 labels", kind="any")
    csv = _labels_file(path) if path.is_dir() else path
    df = read_table(csv, what="GZ1 labels", dtype={"OBJID": str})
    where = f"GZ1 labels '{csv}'"
    require_columns(df, ["OBJID", "CLASS"], where=where)
    check_unique_ids(df["OBJID"], where=where, column="OBJID")
    check_id_names(df["OBJID"], where=where, column="OBJID")
    labels = integer_column(
        df["CLASS"],
        where=where,
        column="CLASS",
        minimum=0,
        maximum=len(GZ1_CLASS_NAMES) - 1,
        what="GZ1 class",
    )
    out = df.rename(columns={"OBJID": "id"}).drop(columns=["CLASS"])
    out.insert(1, "label", labels.astype(np.int64))
    return out


def read_gz1(
    path: str | os.PathLike[str], *, skip_bad: bool = False, allow_outside_root: bool = False
) -> FileSource:
    """Read a Galaxy Zoo 1 folder (``labels.csv`` + ``images/<OBJID>.jpeg``).

    Parameters
    ----------
    path
        The folder (e.g. ``$GALAXY_XAI_DATA/gz1-sdss``).
    skip_bad
        Skip ids with no image (listed in ``source.skipped``) instead of raising.
    allow_outside_root
        Accept images that resolve (through symlinks) outside ``path``.

    Raises
    ------
    DataMissingError
        If the folder, its ``images/`` folder or an id's image is missing.
    DataFormatError
        On a malformed label file (see :func:`read_gz1_labels`), or an image that
        resolves outside the folder (see
        :func:`~galaxy_xai.data.readers.base.match_files`).
    """
    root = require_path(path, what="GZ1", kind="dir")
    labels = read_gz1_labels(root)
    images_dir = require_path(root / "images", what="GZ1 images", kind="dir")
    present: dict[str, str] = {}
    for name in os.listdir(images_dir):
        stem, dot, suffix = name.rpartition(".")
        if dot and "." + suffix.lower() in _IMAGE_SUFFIXES:
            present.setdefault(stem, name)
    files = [f"images/{present.get(i, i + '.jpeg')}" for i in labels["id"]]
    catalog, skipped = match_files(
        labels,
        files,
        root=root,
        where=f"GZ1 labels '{_labels_file(root)}'",
        skip_bad=skip_bad,
        column="OBJID",
        allow_outside_root=allow_outside_root,
    )
    names = list(GZ1_CLASS_NAMES)
    source = FileSource(
        catalog,
        root=root,
        metadata={"label_names": names, "class_names": {"label": names}, "survey": "SDSS gri"},
        skipped=skipped,
    )
    source.fmt = "gz1"
    return source
