"""Galaxy Zoo 2: the Kaggle challenge set, its folder-per-label variant, the Hart et
al. (2016) main-release table with its image mapping, and the Willett et al. (2013)
vote tables.

Layouts (public releases)
-------------------------
- Kaggle: ``training_solutions_rev1.csv`` (``GalaxyID`` and 37 cumulative vote
  fractions ``Class1.1`` ... ``Class11.6``) and ``images_training_rev1/<GalaxyID>.jpg``.
- Kaggle folders: ``[<split>/]<class>/<GalaxyID>.jpg`` (e.g. ``gz2-kaggle-spirals``
  with ``train``/``validation`` and ``spirals``/``non_spirals``).
- Hart16: ``gz2_hart16.csv[.gz]`` (``dr7objid``, ``gz2_class``, per answer
  ``*_count``, ``*_weighted_fraction``, ``*_fraction``, ``*_debiased``, ``*_flag``),
  ``gz2_filename_mapping.csv`` (``objid,sample,asset_id``) and
  ``images_gz2/images/<asset_id>.jpg``.
- Willett tables (e.g. Stripe 82 ``table5.csv.gz``): ``objid``, ``sample``, ``ra``,
  ``dec`` and per answer ``_count``, ``_weight``, ``_fraction``,
  ``_weighted_fraction``, ``_debiased``, ``_flag`` for ``t01`` ... ``t11``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from galaxy_xai.data.images import safe_text
from galaxy_xai.data.readers.base import (
    FileSource,
    check_id_names,
    check_inside_root,
    check_unique_ids,
    find_column,
    integer_column,
    match_files,
    numeric_column,
    read_table,
    require_columns,
    require_path,
    utf8_names,
)
from galaxy_xai.errors import DataFormatError, DataMissingError

__all__ = [
    "KAGGLE_VOTE_COLUMNS",
    "read_gz2_hart16",
    "read_gz2_kaggle",
    "read_gz2_kaggle_folders",
    "read_gz2_votes_table",
]

#: The 37 Kaggle GZ2 answer columns, in the challenge's order.
KAGGLE_VOTE_COLUMNS = tuple(
    f"Class{task}.{answer}"
    for task, n in (
        (1, 3),
        (2, 2),
        (3, 2),
        (4, 2),
        (5, 4),
        (6, 2),
        (7, 3),
        (8, 7),
        (9, 3),
        (10, 3),
        (11, 6),
    )
    for answer in range(1, n + 1)
)
_RASTER = (".jpg", ".jpeg", ".png")
_VOTE_SUFFIXES = ("_fraction", "_debiased", "_weighted_fraction")
_TASK_COLUMN = re.compile(r"^t\d\d_")


def _find_file(root: Path, names: tuple[str, ...], *, what: str) -> Path:
    for name in names:
        if (root / name).is_file():
            return root / name
    raise DataMissingError(f"{what}: none of {', '.join(names)} in folder '{root}'")


# --------------------------------------------------------------------------- Kaggle
def read_gz2_kaggle(
    path: str | os.PathLike[str], *, skip_bad: bool = False, allow_outside_root: bool = False
) -> FileSource:
    """Read the Kaggle Galaxy Zoo challenge training set.

    Parameters
    ----------
    path
        The folder holding ``training_solutions_rev1.csv`` and
        ``images_training_rev1/``, or the CSV itself (images folder beside it).
    skip_bad
        Skip ids with no image instead of raising.
    allow_outside_root
        Accept images that resolve (through symlinks) outside the CSV's folder.

    Returns
    -------
    FileSource
        ``id`` = ``GalaxyID``; the 37 ``Class*`` vote-fraction columns unchanged
        (cumulative along the decision tree, as published; see
        :func:`galaxy_xai.data.curation.answer_fractions` for per-question ones).

    Raises
    ------
    DataMissingError
        If the CSV, the images folder or an id's image is missing.
    DataFormatError
        On missing ``GalaxyID``/``Class*`` columns, duplicate ids, ids holding a path
        separator or ``..``, text in a ``Class*`` column, or an image outside the
        folder (named with line and column).
    """
    path = require_path(path, what="GZ2 Kaggle", kind="any")
    csv = (
        path
        if path.is_file()
        else _find_file(
            path,
            ("training_solutions_rev1.csv", "training_solutions_rev1.csv.gz"),
            what="GZ2 Kaggle",
        )
    )
    root = csv.parent
    images_dir = require_path(root / "images_training_rev1", what="GZ2 Kaggle images", kind="dir")
    df = read_table(csv, what="GZ2 Kaggle solutions", dtype={"GalaxyID": str})
    where = f"GZ2 Kaggle solutions '{csv}'"
    require_columns(df, ["GalaxyID", *KAGGLE_VOTE_COLUMNS], where=where)
    check_unique_ids(df["GalaxyID"], where=where, column="GalaxyID")
    check_id_names(df["GalaxyID"], where=where, column="GalaxyID")
    catalog = df[["GalaxyID", *KAGGLE_VOTE_COLUMNS]].rename(columns={"GalaxyID": "id"})
    for column in KAGGLE_VOTE_COLUMNS:
        catalog[column] = numeric_column(catalog[column], where=where, column=column)
    files = [f"{images_dir.name}/{i}.jpg" for i in catalog["id"]]
    catalog, skipped = match_files(
        catalog,
        files,
        root=root,
        where=where,
        skip_bad=skip_bad,
        column="GalaxyID",
        allow_outside_root=allow_outside_root,
    )
    source = FileSource(
        catalog,
        root=root,
        metadata={"vote_columns": list(KAGGLE_VOTE_COLUMNS), "vote_scheme": "kaggle-cumulative"},
        skipped=skipped,
    )
    source.fmt = "gz2-kaggle"
    return source


def read_gz2_kaggle_folders(
    path: str | os.PathLike[str], *, skip_bad: bool = False, allow_outside_root: bool = False
) -> FileSource:
    """Read a folder-per-label image set: ``[<split>/]<class>/<id>.jpg``.

    Class names are the class folder names, sorted (``label`` 0, 1, ...); with split
    folders (e.g. ``train``, ``validation``) a ``split`` column is added.

    Parameters
    ----------
    path
        The top folder.
    skip_bad
        Skip files and folders whose names are not valid UTF-8 (listed in
        ``source.skipped``) instead of raising.
    allow_outside_root
        Accept images that resolve (through symlinked files or folders) outside
        ``path``.

    Raises
    ------
    DataMissingError
        If the folder is absent.
    DataFormatError
        If it holds no class folders with images, one id appears twice, an image
        resolves outside the folder, or (without ``skip_bad``) a name is not valid
        UTF-8.
    """
    root = require_path(path, what="GZ2 Kaggle folders", kind="dir")
    skipped: list[dict[str, str]] = []

    listed: dict[Path, list[str]] = {}

    def images_in(folder: Path) -> list[str]:
        if folder not in listed:  # once per folder, so a skipped name is logged once
            names = sorted(n for n in os.listdir(folder) if n.lower().endswith(_RASTER))
            listed[folder] = utf8_names(names, folder=folder, skip_bad=skip_bad, skipped=skipped)
        return listed[folder]

    def folders_in(folder: Path) -> list[Path]:
        dirs = sorted(p for p in folder.iterdir() if p.is_dir())
        keep = utf8_names([p.name for p in dirs], folder=folder, skip_bad=skip_bad, skipped=skipped)
        return [p for p in dirs if p.name in keep]

    subdirs = folders_in(root)
    rows: list[tuple[str, str, str, str]] = []  # (id, file, class, split)
    if subdirs and all(not images_in(d) and any(s.is_dir() for s in d.iterdir()) for d in subdirs):
        for split_dir in subdirs:
            for class_dir in folders_in(split_dir):
                rows += [
                    (
                        Path(n).stem,
                        f"{split_dir.name}/{class_dir.name}/{n}",
                        class_dir.name,
                        split_dir.name,
                    )
                    for n in images_in(class_dir)
                ]
        has_split = True
    else:
        for class_dir in subdirs:
            rows += [
                (Path(n).stem, f"{class_dir.name}/{n}", class_dir.name, "")
                for n in images_in(class_dir)
            ]
        has_split = False
    if not rows:
        raise DataFormatError(
            f"GZ2 Kaggle folders '{root}': no images in class folders "
            f"(expected [<split>/]<class>/<id>.jpg; found: {', '.join(p.name for p in subdirs) or 'nothing'})"
        )
    catalog = pd.DataFrame(rows, columns=["id", "source_file", "class_name", "split"])
    if not allow_outside_root:
        check_inside_root(
            root,
            catalog["source_file"].tolist(),
            where=f"GZ2 Kaggle folders '{safe_text(root)}'",
        )
    dup = catalog["id"][catalog["id"].duplicated(keep=False)]
    if len(dup):
        files = catalog.loc[catalog["id"] == dup.iloc[0], "source_file"].tolist()
        raise DataFormatError(
            f"GZ2 Kaggle folders '{root}': id {dup.iloc[0]!r} appears twice: {files}"
        )
    names = sorted(catalog["class_name"].unique())
    catalog.insert(
        1, "label", catalog["class_name"].map({n: k for k, n in enumerate(names)}).astype(np.int64)
    )
    if not has_split:
        catalog = catalog.drop(columns=["split"])
    source = FileSource(
        catalog,
        root=root,
        metadata={"label_names": names, "class_names": {"label": names}},
        skipped=skipped,
    )
    source.fmt = "gz2-kaggle-folders"
    return source


# --------------------------------------------------------------------------- Hart16
def read_gz2_hart16(
    path: str | os.PathLike[str],
    *,
    skip_bad: bool = False,
    keep_columns: str = "votes",
    allow_outside_root: bool = False,
) -> FileSource:
    """Read the GZ2 main release: Hart et al. (2016) table, filename mapping, images.

    Parameters
    ----------
    path
        Folder holding ``gz2_hart16.csv[.gz]``, ``gz2_filename_mapping.csv`` and
        ``images_gz2/images/``.
    skip_bad
        Skip galaxies with no mapping row or no image instead of raising.
    keep_columns
        ``"votes"``: keep ``*_fraction``, ``*_weighted_fraction`` and ``*_debiased``
        vote columns (plus ``ra``, ``dec``, ``gz2_class``, ``sample``, totals);
        ``"all"``: keep every column of the table.
    allow_outside_root
        Accept images that resolve (through symlinks) outside ``path``.

    Raises
    ------
    DataMissingError
        If a file or folder is missing, or a galaxy has no mapping row or image.
    DataFormatError
        On missing columns (``dr7objid`` in the table; ``objid``, ``asset_id`` in the
        mapping), duplicate ids, an ``asset_id`` that is not a whole number >= 0,
        text in a vote column, or an image outside the folder (named with line and
        column).
    ParameterError
        If ``keep_columns`` is not ``"votes"`` or ``"all"``.
    """
    root = require_path(path, what="GZ2 Hart16", kind="dir")
    table = _find_file(root, ("gz2_hart16.csv", "gz2_hart16.csv.gz"), what="GZ2 Hart16 table")
    mapping_csv = _find_file(root, ("gz2_filename_mapping.csv",), what="GZ2 filename mapping")
    require_path(root / "images_gz2" / "images", what="GZ2 images", kind="dir")
    df = read_table(table, what="GZ2 Hart16 table", dtype={"dr7objid": str})
    where = f"GZ2 Hart16 table '{table}'"
    require_columns(df, ["dr7objid"], where=where)
    check_unique_ids(df["dr7objid"], where=where, column="dr7objid")
    mapping = read_table(mapping_csv, what="GZ2 filename mapping", dtype={"objid": str})
    mapping_where = f"GZ2 filename mapping '{mapping_csv}'"
    require_columns(mapping, ["objid", "asset_id"], where=mapping_where)
    check_unique_ids(mapping["objid"], where=mapping_where, column="objid")
    mapping["asset_id"] = integer_column(
        mapping["asset_id"], where=mapping_where, column="asset_id", what="asset id"
    )
    for column in df.columns:
        if _TASK_COLUMN.match(str(column)) and str(column).endswith(_VOTE_SUFFIXES):
            df[column] = numeric_column(df[column], where=where, column=str(column))
    if keep_columns == "votes":
        votes = [
            c for c in df.columns if _TASK_COLUMN.match(str(c)) and str(c).endswith(_VOTE_SUFFIXES)
        ]
        base = [
            c
            for c in ("ra", "dec", "gz2_class", "sample", "total_classifications", "total_votes")
            if c in df.columns
        ]
        df = df[["dr7objid", *base, *votes]]
    elif keep_columns != "all":
        from galaxy_xai.errors import ParameterError

        raise ParameterError("keep_columns", keep_columns, "must be 'votes' or 'all'")
    df = df.rename(columns={"dr7objid": "id"}).copy()
    lines = np.arange(len(df)) + 2  # file line of each table row, kept through the drops
    asset = df["id"].map(mapping.set_index("objid")["asset_id"])
    unmapped = np.flatnonzero(asset.isna().to_numpy())
    skipped: list[dict[str, str]] = []
    if len(unmapped):
        j = int(unmapped[0])
        if not skip_bad:
            raise DataMissingError(
                f"{where}: id {df['id'].iloc[j]!r} (line {j + 2}) has no row in '{mapping_csv}' "
                f"({len(unmapped)} unmatched id(s) in all; use --skip-bad to skip them)"
            )
        skipped = [
            {"id": df["id"].iloc[k], "file": "", "reason": "no filename mapping"} for k in unmapped
        ]
        keep = asset.notna().to_numpy()
        df, asset = df[keep].reset_index(drop=True), asset[keep].reset_index(drop=True)
        lines = lines[keep]
    df.insert(1, "asset_id", asset.astype(np.int64).to_numpy())
    files = [f"images_gz2/images/{a}.jpg" for a in df["asset_id"]]
    catalog, more = match_files(
        df,
        files,
        root=root,
        where=where,
        skip_bad=skip_bad,
        lines=lines,
        column="dr7objid",
        allow_outside_root=allow_outside_root,
    )
    source = FileSource(
        catalog, root=root, metadata={"vote_scheme": "gz2-hart16"}, skipped=skipped + more
    )
    source.fmt = "gz2-hart16"
    return source


# --------------------------------------------------------------------------- Willett
def read_gz2_votes_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a Willett et al. (2013) GZ2 vote table (no images), e.g. Stripe 82 table 5.

    Returns
    -------
    pandas.DataFrame
        ``id`` (str ``objid``) first, then every column of the table unchanged
        (``t01_smooth_or_features_a01_smooth_fraction``, ``..._debiased``, ...).

    Raises
    ------
    DataMissingError
        If the file is absent.
    DataFormatError
        If it has no ``objid`` column, no ``t01_...`` vote columns, or duplicate ids.
    """
    df = read_table(path, what="GZ2 vote table", dtype={"objid": str, "dr7objid": str})
    where = f"GZ2 vote table '{path}'"
    id_col = find_column(df, ("objid", "dr7objid"), where=where, what="id")
    if not any(str(c).startswith("t01_smooth_or_features") for c in df.columns):
        require_columns(df, ["t01_smooth_or_features_a01_smooth_fraction"], where=where)
    check_unique_ids(df[id_col], where=where, column=str(id_col))
    df = df.rename(columns={id_col: "id"})
    return df[["id", *[c for c in df.columns if c != "id"]]]
