"""A generic image folder plus a CSV (or Parquet) catalogue with a file column.

The file column (``file``, ``file_loc``, ``filename``, ``path``, ``image``...) holds
paths relative to the catalogue's folder (or absolute); each must resolve inside that
folder unless ``allow_outside_root``. Ids come from an ``id``-like column, else from
the file names. A ``label`` column of class indices (whole numbers 0..9999, see
:data:`~galaxy_xai.data.store.MAX_CLASSES`) is kept; a column of class
names (``label`` or ``class``) becomes integer labels with sorted names; a column
mixing numbers and text is refused (a typo in a column of class indices).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from galaxy_xai.data.images import safe_text
from galaxy_xai.data.readers.base import (
    FileSource,
    check_unique_ids,
    find_column,
    integer_column,
    labels_from_names,
    match_files,
    numeric_column,
    read_table,
    require_path,
)
from galaxy_xai.data.store import MAX_CLASSES
from galaxy_xai.errors import DataFormatError

__all__ = ["FILE_COLUMNS", "ID_COLUMNS", "read_catalog_with_files", "read_folder"]

FILE_COLUMNS = (
    "file",
    "file_loc",
    "local_png_loc",
    "png_loc",
    "filename",
    "file_name",
    "path",
    "image",
    "jpeg_loc",
    "fits_loc",
)
ID_COLUMNS = ("id", "id_str", "iauname", "objid", "dr7objid", "dr8_id", "galaxy_id", "GalaxyID")
_CATALOG_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


def find_catalog(root: Path, *, what: str) -> Path:
    """The single catalogue file in ``root`` (or ``root`` itself if it is a file).

    Raises
    ------
    DataFormatError
        If ``root`` is a folder that holds no ``.csv``/``.parquet`` catalogue, or more
        than one.
    """
    if root.is_file():
        return root
    found = sorted(
        p for p in root.iterdir() if p.is_file() and p.name.lower().endswith(_CATALOG_SUFFIXES)
    )
    if len(found) != 1:
        raise DataFormatError(
            f"{what} folder '{root}' must hold exactly one catalogue (.csv/.parquet), "
            f"found {len(found)}: {', '.join(safe_text(p.name) for p in found) or 'none'}; "
            "pass the file"
        )
    return found[0]


def read_catalog_with_files(
    path: str | os.PathLike[str],
    *,
    skip_bad: bool = False,
    what: str = "catalogue",
    file_column: str | None = None,
    id_column: str | None = None,
    numeric_only: bool = False,
    allow_outside_root: bool = False,
) -> FileSource:
    """Read a catalogue with a file column into a :class:`FileSource`.

    Parameters
    ----------
    path
        The catalogue file, or a folder holding exactly one.
    skip_bad
        Skip rows whose file does not exist instead of raising.
    what
        Name used in messages.
    file_column, id_column
        Column names; default: the first of :data:`FILE_COLUMNS` / :data:`ID_COLUMNS`
        present (ids fall back to the file names).
    numeric_only
        Keep only numeric columns besides id, file and label (wide survey catalogues);
        a column of numbers with stray text in it is refused, not silently dropped.
    allow_outside_root
        Accept files that resolve (``..``, absolute paths, symlinks) outside the
        catalogue's folder.

    Raises
    ------
    DataMissingError
        If the catalogue or a file is missing.
    DataFormatError
        On a missing file column (message lists the columns found), duplicate ids,
        empty file names or ids, a file outside the folder, a ``label`` cell that is
        not a class index 0..9999 (text among numbers, ``1.5``, negative, empty,
        ``2**40``), or text in a numeric column; the message names the line and
        column.
    """
    path = require_path(path, what=what, kind="any")
    csv = find_catalog(path, what=what)
    if csv.name.lower().endswith((".parquet", ".pq")):
        df = read_table(csv, what=what)
    else:  # ids as text: 64-bit SDSS objids must not pass through float
        df = read_table(csv, what=what, dtype=dict.fromkeys((*ID_COLUMNS, *FILE_COLUMNS), str))
    where = f"{what} '{csv}'"
    fcol = file_column or find_column(df, FILE_COLUMNS, where=where, what="file")
    if fcol not in df.columns:
        find_column(df, (fcol,), where=where, what="file")
    files = df[fcol].astype(str)
    empty = np.flatnonzero((df[fcol].isna() | (files.str.strip() == "")).to_numpy())
    if len(empty):
        raise DataFormatError(f"{where} line {int(empty[0]) + 2}, column {fcol!r}: empty file name")
    icol: str | None
    if id_column is not None:
        icol = find_column(df, (id_column,), where=where, what="id")
    else:
        icol = next((c for c in ID_COLUMNS if c in df.columns), None)
    ids = df[icol].astype(str) if icol else files.map(lambda f: Path(f).name.split(".")[0])
    check_unique_ids(ids.reset_index(drop=True), where=where, column=str(icol or fcol))
    catalog = df.drop(columns=[c for c in (fcol, icol) if c]).copy()
    if numeric_only:
        for c in catalog.columns:
            text_by_design = c in ("label", "class", *ID_COLUMNS, *FILE_COLUMNS)
            if not text_by_design and _mostly_numbers(catalog[c]):
                catalog[c] = numeric_column(catalog[c], where=where, column=str(c))
        keep = [
            c
            for c in catalog.columns
            if pd.api.types.is_numeric_dtype(catalog[c]) or c in ("label", "class")
        ]
        catalog = catalog[keep]
    catalog.insert(0, "id", ids.to_numpy())
    metadata: dict[str, object] = {"file_column": fcol, "id_column": icol or "(file name)"}
    label_col = (
        "label" if "label" in catalog.columns else ("class" if "class" in catalog.columns else None)
    )
    if label_col is not None:
        values = catalog.pop(label_col)
        numbers = not pd.api.types.is_bool_dtype(values) and (  # True/False: class names
            pd.api.types.is_numeric_dtype(values)
            or pd.to_numeric(values, errors="coerce").notna().any()
        )
        if numbers:
            # class indices (a stray text cell among them is an error, not a class)
            labels = integer_column(
                values,
                where=where,
                column=label_col,
                minimum=0,
                largest=MAX_CLASSES - 1,
                largest_reason=f"a dataset holds at most {MAX_CLASSES} classes",
            )
            names = [str(k) for k in range(int(labels.max()) + 1)] if len(labels) else []
        elif values.isna().any():
            raise DataFormatError(
                f"{where} line {int(np.flatnonzero(values.isna())[0]) + 2}, column {label_col!r}: missing class"
            )
        else:
            labels, names = labels_from_names(values)
        catalog.insert(1, "label", labels)
        metadata.update(label_names=names, class_names={"label": names})
    root = csv.parent
    catalog, skipped = match_files(
        catalog,
        files.tolist(),
        root=root,
        where=where,
        skip_bad=skip_bad,
        column=str(fcol),
        allow_outside_root=allow_outside_root,
    )
    return FileSource(catalog, root=root, metadata=metadata, skipped=skipped)


def _mostly_numbers(values: pd.Series) -> bool:
    """A text column at least half of whose filled cells are numbers (so: numeric)."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    filled = values.dropna()
    filled = filled[filled.astype(str).str.strip() != ""]
    numbers = pd.to_numeric(filled, errors="coerce").notna().sum()
    return bool(len(filled)) and 2 * int(numbers) >= len(filled)


def read_folder(
    path: str | os.PathLike[str], *, skip_bad: bool = False, allow_outside_root: bool = False
) -> FileSource:
    """Read a generic image folder + catalogue (see module doc); format ``folder``.

    Raises
    ------
    DataMissingError, DataFormatError
        See :func:`read_catalog_with_files`.
    """
    source = read_catalog_with_files(
        path, skip_bad=skip_bad, what="folder catalogue", allow_outside_root=allow_outside_root
    )
    source.fmt = "folder"
    return source
