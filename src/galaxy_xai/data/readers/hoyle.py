"""Bar-length catalogues in the format of Hoyle et al. (2011, MNRAS 415, 3627).

``hoyle_barlengths.csv``: ``objid,ra,dec,length_avg,length_stdev,width_avg,
width_stdev,length_scaled,bar_meas`` - the volunteers' mean full bar length and its
scatter (arcsec on the SDSS images; checked against the kpc table: half of
``length_avg`` times the angular scale at ``z`` gives ``sma_kpc`` to within the
deprojection, median ratio 0.95), ``length_scaled`` = length / Petrosian R90, and
``bar_meas`` the number of volunteer measurements. ``hoyle_bar_sizes_kpc.csv``:
``objid,sma_kpc,err_sma_kpc,logMstar,M_g,M_i,z``.
"""

from __future__ import annotations

import os
from pathlib import Path

from galaxy_xai.data.readers.base import (
    check_unique_ids,
    numeric_column,
    read_table,
    require_columns,
)
from galaxy_xai.errors import DataFormatError

__all__ = ["HOYLE_COLUMNS", "read_hoyle_bar_lengths"]

HOYLE_COLUMNS = ("objid", "length_avg", "length_stdev", "length_scaled", "bar_meas")
_OPTIONAL_NUMERIC = ("ra", "dec", "width_avg", "width_stdev")
_KPC_NUMERIC = ("sma_kpc", "err_sma_kpc", "logMstar", "M_g", "M_i", "z")


def read_hoyle_bar_lengths(
    path: str | os.PathLike[str], *, sizes: str | os.PathLike[str] | None = "auto"
):
    """Read a Hoyle et al. (2011) bar-length table (no images).

    Parameters
    ----------
    path
        ``hoyle_barlengths.csv`` or the folder holding it.
    sizes
        The kpc table to join (``sma_kpc``, ``logMstar``, ``z`` as ``redshift``...);
        ``"auto"`` uses ``hoyle_bar_sizes_kpc.csv`` beside ``path`` if present, None
        joins nothing.

    Returns
    -------
    pandas.DataFrame
        ``id`` (str objid), the table's columns, plus ``bar_length_arcsec``
        (= ``length_avg``), ``bar_length_err_arcsec`` (= ``length_stdev``),
        ``bar_semi_major_arcsec`` (half the length) and ``bar_width_arcsec``.

    Raises
    ------
    DataMissingError
        If a file is absent.
    DataFormatError
        On missing columns (listed with those found), duplicate ids, text in a
        numeric column, or negative lengths (named with line and column).
    """
    path = Path(path)
    csv = path / "hoyle_barlengths.csv" if path.is_dir() else path
    df = read_table(csv, what="Hoyle bar-length table", dtype={"objid": str})
    where = f"Hoyle bar-length table '{csv}'"
    require_columns(df, HOYLE_COLUMNS, where=where)
    check_unique_ids(df["objid"], where=where, column="objid")
    for column in (*HOYLE_COLUMNS[1:], *_OPTIONAL_NUMERIC):
        if column in df.columns:
            df[column] = numeric_column(df[column], where=where, column=column)
    negative = df.index[(df["length_avg"] < 0).to_numpy()]
    if len(negative):
        j = int(negative[0])
        raise DataFormatError(
            f"{where} line {j + 2}, column 'length_avg': negative length {df['length_avg'][j]}"
        )
    df = df.rename(columns={"objid": "id"})
    df["bar_length_arcsec"] = df["length_avg"].astype(float)
    df["bar_length_err_arcsec"] = df["length_stdev"].astype(float)
    df["bar_semi_major_arcsec"] = 0.5 * df["bar_length_arcsec"]
    if "width_avg" in df.columns:
        df["bar_width_arcsec"] = df["width_avg"].astype(float)
    if sizes == "auto":
        candidate = csv.parent / "hoyle_bar_sizes_kpc.csv"
        sizes = candidate if candidate.is_file() else None
    if sizes is not None:
        kpc = read_table(sizes, what="Hoyle bar-size table", dtype={"objid": str})
        kpc_where = f"Hoyle bar-size table '{sizes}'"
        require_columns(kpc, ["objid", "sma_kpc"], where=kpc_where)
        for column in _KPC_NUMERIC:
            if column in kpc.columns:
                kpc[column] = numeric_column(kpc[column], where=kpc_where, column=column)
        kpc = kpc.drop_duplicates("objid").rename(columns={"objid": "id", "z": "redshift"})
        df = df.merge(kpc, on="id", how="left")
    return df
