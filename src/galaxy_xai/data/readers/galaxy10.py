"""Galaxy10 SDSS (69x69) and Galaxy10 DECaLS (256x256) HDF5 files (Leung & Bovy).

Both hold ``images`` ``(N, H, W, 3)`` uint8 and ``ans`` ``(N,)`` class indices; the
DECaLS file adds ``ra``, ``dec``, ``redshift`` and ``pxscale`` (arcsec/pixel). The
variant is recognised from the image size.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.data.readers.base import ImageSource, require_path
from galaxy_xai.errors import DataFormatError

__all__ = [
    "GALAXY10_DECALS_CLASS_NAMES",
    "GALAXY10_SDSS_CLASS_NAMES",
    "Galaxy10Source",
    "read_galaxy10",
]

GALAXY10_SDSS_CLASS_NAMES = (
    "disk, face-on, no spiral",
    "smooth, completely round",
    "smooth, in-between round",
    "smooth, cigar shaped",
    "disk, edge-on, rounded bulge",
    "disk, edge-on, boxy bulge",
    "disk, edge-on, no bulge",
    "disk, face-on, tight spiral",
    "disk, face-on, medium spiral",
    "disk, face-on, loose spiral",
)
GALAXY10_DECALS_CLASS_NAMES = (
    "disturbed",
    "merging",
    "round smooth",
    "in-between round smooth",
    "cigar shaped smooth",
    "barred spiral",
    "unbarred tight spiral",
    "unbarred loose spiral",
    "edge-on without bulge",
    "edge-on with bulge",
)


class Galaxy10Source(ImageSource):
    """Rows of a Galaxy10 HDF5 file; the file is opened lazily in each process."""

    fmt = "galaxy10"
    float_data = False

    def __init__(
        self, catalog: pd.DataFrame, *, root: Any, rows: np.ndarray, **kwargs: Any
    ) -> None:
        super().__init__(catalog, root=root, **kwargs)
        self.rows = np.asarray(rows, dtype=np.int64)
        self._handle: Any = None

    def head(self, n: int) -> Galaxy10Source:
        new = super().head(n)
        new.rows = self.rows[:n]  # type: ignore[attr-defined]
        return new  # type: ignore[return-value]

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def native(self, i: int) -> tuple[np.ndarray, dict[str, Any]]:
        import h5py

        if self._handle is None:
            self._handle = h5py.File(self.root, "r")
        image = np.asarray(self._handle["images"][int(self.rows[i])])
        if image.dtype != np.uint8 or image.ndim != 3:
            raise DataFormatError(
                f"Galaxy10 file '{self.root}' row {int(self.rows[i])}: expected uint8 (H, W, 3), "
                f"found {image.dtype} {image.shape}"
            )
        return np.ascontiguousarray(image.transpose(2, 0, 1)), {}


def read_galaxy10(path: str | os.PathLike[str], *, skip_bad: bool = False) -> Galaxy10Source:
    """Read a Galaxy10 (SDSS or DECaLS) HDF5 file.

    ``id`` is the row index in the file; ``label`` is ``ans``. ``pixel_scale_arcsec``
    comes from ``pxscale`` (DECaLS) and is NaN for the SDSS set.

    Raises
    ------
    DataMissingError
        If the file is absent.
    DataFormatError
        If it is not HDF5, lacks ``images``/``ans``, or their lengths or classes differ
        from the Galaxy10 layout.
    """
    import h5py

    path = require_path(path, what="Galaxy10", kind="file")
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise DataFormatError(
            f"Galaxy10 file '{path}' is not a readable HDF5 file: {exc}"
        ) from None
    with h5:
        missing = [k for k in ("images", "ans") if k not in h5]
        if missing:
            raise DataFormatError(
                f"Galaxy10 file '{path}' has no dataset(s) {missing} (found: {', '.join(h5.keys())})"
            )
        shape = h5["images"].shape
        ans = np.asarray(h5["ans"][:]).astype(np.int64)
        extra = {k: np.asarray(h5[k][:]) for k in ("ra", "dec", "redshift", "pxscale") if k in h5}
    if len(shape) != 4 or shape[3] != 3 or shape[0] != len(ans):
        raise DataFormatError(
            f"Galaxy10 file '{path}': 'images' {shape} and 'ans' ({len(ans)},) do not form "
            "(N, H, W, 3) images with N labels"
        )
    names = GALAXY10_DECALS_CLASS_NAMES if shape[1] >= 128 else GALAXY10_SDSS_CLASS_NAMES
    bad = (ans < 0) | (ans >= len(names))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"Galaxy10 file '{path}' row {j}, dataset 'ans': class {ans[j]} not in 0..9"
        )
    catalog = pd.DataFrame({"id": [str(i) for i in range(len(ans))], "label": ans})
    for key, column in (("ra", "ra"), ("dec", "dec"), ("redshift", "redshift")):
        if key in extra:
            catalog[column] = extra[key].astype(np.float64)
    catalog["pixel_scale_arcsec"] = (
        extra["pxscale"].astype(np.float64) if "pxscale" in extra else np.nan
    )
    catalog["source_file"] = path.name
    variant = "decals" if shape[1] >= 128 else "sdss"
    return Galaxy10Source(
        catalog,
        root=path,
        rows=np.arange(len(ans)),
        metadata={
            "label_names": list(names),
            "class_names": {"label": list(names)},
            "galaxy10_variant": variant,
        },
    )
