"""``galaxy-xai data info``: what a dataset file holds, as a dict or as text."""

from __future__ import annotations

import os
from typing import Any

import h5py
import pandas as pd

from galaxy_xai.data.store import open_dataset

__all__ = ["dataset_info", "format_info"]


def dataset_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Summary of a dataset file.

    Returns
    -------
    dict
        ``path``, ``n_images``, ``image_shape`` ``[C, H, W]``, ``storage_dtype``,
        ``kind``, ``format``, ``label_counts`` (column -> list of ``{index, name,
        count}`` for ``label`` and every column in ``metadata['class_names']``),
        ``pixel_scale_arcsec`` (common value, or min/max/n_unknown), ``columns``,
        ``preprocessing`` and ``provenance``.

    Raises
    ------
    DataMissingError, DataFormatError
        As :func:`~galaxy_xai.data.store.open_dataset`.
    """
    with open_dataset(path) as ds:
        meta = ds.metadata
        catalog = ds.catalog
        with h5py.File(ds.path, "r") as h5:
            storage = str(h5["images"].dtype)
        class_names: dict[str, list[str]] = dict(meta.get("class_names") or {})
        if "label" in catalog.columns and "label" not in class_names and ds.label_names:
            class_names["label"] = ds.label_names
        if "label" in catalog.columns and "label" not in class_names:
            class_names["label"] = []
        counts: dict[str, list[dict[str, Any]]] = {}
        for column, names in class_names.items():
            if column not in catalog.columns or not _class_column(catalog[column]):
                continue
            values = catalog[column].value_counts()
            indices = sorted(set(range(len(names))) | {int(v) for v in values.index})
            counts[column] = [
                {
                    "index": k,
                    "name": names[k] if 0 <= k < len(names) else str(k),
                    "count": int(values.get(k, 0)),
                }
                for k in indices
            ]
        scale: dict[str, Any] = {}
        if "pixel_scale_arcsec" in catalog.columns:
            s = catalog["pixel_scale_arcsec"].astype(float)
            if s.notna().any():
                scale = {"min": float(s.min()), "max": float(s.max())}
            scale["n_unknown"] = int(s.isna().sum())
        return {
            "path": str(ds.path),
            "n_images": len(ds),
            "image_shape": list(ds.image_shape),
            "storage_dtype": storage,
            "kind": meta.get("kind"),
            "format": meta.get("format"),
            "label_counts": counts,
            "pixel_scale_arcsec": scale
            if meta.get("pixel_scale_arcsec") is None
            else meta["pixel_scale_arcsec"],
            "columns": list(catalog.columns),
            "preprocessing": meta.get("preprocessing", {}),
            "provenance": meta.get("provenance", {}),
        }


def _class_column(values: pd.Series) -> bool:
    """Whether a column can hold class indices (integers or booleans), so be counted."""
    return pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values)


def format_info(info: dict[str, Any]) -> str:
    """Human-readable text of :func:`dataset_info`."""
    c, h, w = info["image_shape"]
    lines = [
        f"{info['path']}",
        f"  images:        {info['n_images']:,}",
        f"  shape (C,H,W): ({c}, {h}, {w})",
        f"  storage:       {info['storage_dtype']}",
        f"  kind/format:   {info['kind']} / {info['format']}",
    ]
    scale = info["pixel_scale_arcsec"]
    if isinstance(scale, int | float):
        lines.append(f"  pixel scale:   {scale:.4g} arcsec/px")
    elif scale.get("min") is not None:
        lines.append(
            f"  pixel scale:   {scale['min']:.4g}..{scale['max']:.4g} arcsec/px "
            f"({scale['n_unknown']} unknown)"
        )
    else:
        lines.append("  pixel scale:   unknown")
    for column, rows in info["label_counts"].items():
        lines.append(f"  counts per {column}:")
        width = max((len(r["name"]) for r in rows), default=0)
        lines += [f"    {r['index']:>3}  {r['name']:<{width}}  {r['count']:>8,}" for r in rows]
    prep = info["preprocessing"]
    if prep:
        keys = ("size", "crop", "channels", "stretch")
        lines.append("  preprocessing: " + ", ".join(f"{k}={prep[k]}" for k in keys if k in prep))
    prov = info["provenance"]
    if prov:
        parts = [f"source={prov.get('source')}"]
        parts += [
            f"{k}={prov[k]}"
            for k in ("n_imported", "n_skipped", "skipped_log", "galaxy_xai_version")
            if prov.get(k) is not None
        ]
        lines.append("  provenance:    " + ", ".join(parts))
    lines.append(f"  columns:       {', '.join(info['columns'])}")
    return "\n".join(lines)
