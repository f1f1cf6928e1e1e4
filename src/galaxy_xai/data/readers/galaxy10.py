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

from galaxy_xai.data.images import check_declared_size, safe_text
from galaxy_xai.data.readers.base import ImageSource, require_path
from galaxy_xai.errors import DataFormatError

__all__ = [
    "GALAXY10_DECALS_CLASS_NAMES",
    "GALAXY10_SDSS_CLASS_NAMES",
    "Galaxy10Source",
    "read_galaxy10",
]

#: Most rows a Galaxy10 file may declare (the public files hold 17-22 thousand); a
#: header claiming more is refused before its labels are read into memory.
MAX_ROWS = 10_000_000
# What h5py raises on a damaged file: OSError (read errors), KeyError (bad object
# headers), RuntimeError (bad symbol tables), ValueError (bad dtypes), TypeError (bad
# string types).
_H5_ERRORS = (OSError, KeyError, RuntimeError, ValueError, TypeError)

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
        """Item ``i`` read from the HDF5 ``images`` array: see :meth:`ImageSource.native`.

        Raises
        ------
        DataFormatError
            If the file's ``images`` array cannot be read (truncated or corrupt file), or
            row ``i`` is not a uint8 ``(H, W, 3)`` image.
        """
        import h5py

        row = int(self.rows[i])
        try:
            if self._handle is None:
                self._handle = h5py.File(self.root, "r")
            image = np.asarray(self._handle["images"][row])
        except _H5_ERRORS as exc:
            raise DataFormatError(
                f"Galaxy10 file '{safe_text(self.root)}' row {row}: 'images' cannot be read "
                f"(truncated or corrupt file?): {' '.join(str(exc).split())}"
            ) from None
        if image.dtype != np.uint8 or image.ndim != 3:
            raise DataFormatError(
                f"Galaxy10 file '{self.root}' row {int(self.rows[i])}: expected uint8 (H, W, 3), "
                f"found {image.dtype} {image.shape}"
            )
        return np.ascontiguousarray(image.transpose(2, 0, 1)), {}


def read_galaxy10(
    path: str | os.PathLike[str], *, skip_bad: bool = False, allow_outside_root: bool = False
) -> Galaxy10Source:
    """Read a Galaxy10 (SDSS or DECaLS) HDF5 file.

    ``id`` is the row index in the file; ``label`` is ``ans``. ``pixel_scale_arcsec``
    comes from ``pxscale`` (DECaLS) and is NaN for the SDSS set.

    Parameters
    ----------
    path
        The ``.h5`` file.
    skip_bad
        Accepted for symmetry with the other readers (rows are checked on import).
    allow_outside_root
        Accepted for symmetry: the file names no other files.

    Raises
    ------
    DataMissingError
        If the file is absent.
    DataFormatError
        If it is empty, truncated or not HDF5, lacks ``images``/``ans``, declares
        images over the size limit or more than :data:`MAX_ROWS` rows, or their
        lengths or classes differ from the Galaxy10 layout (an ``ans`` value that is
        not a whole number 0..9 is named with its row).
    """
    import h5py

    path = require_path(path, what="Galaxy10", kind="file")
    shown = safe_text(path)
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise DataFormatError(
            f"Galaxy10 file '{shown}' is not a readable HDF5 file: {' '.join(str(exc).split())}"
        ) from None
    try:
        with h5:
            missing = [k for k in ("images", "ans") if k not in h5]
            if missing:
                raise DataFormatError(
                    f"Galaxy10 file '{shown}' has no dataset(s) {missing} "
                    f"(found: {', '.join(h5.keys())})"
                )
            shape = tuple(h5["images"].shape)
            ans_shape = tuple(h5["ans"].shape)
            if len(shape) != 4 or shape[3] != 3 or ans_shape != shape[:1]:
                raise DataFormatError(
                    f"Galaxy10 file '{shown}': 'images' {shape} and 'ans' {ans_shape} do not "
                    "form (N, H, W, 3) images with N labels"
                )
            check_declared_size(
                shape[2], shape[1], shape[3], where=f"Galaxy10 file '{shown}' dataset 'images'"
            )
            if shape[0] > MAX_ROWS:
                raise DataFormatError(
                    f"Galaxy10 file '{shown}' declares {shape[0]} rows, more than {MAX_ROWS}; "
                    "refusing to read it (not a Galaxy10 file?)"
                )
            raw = np.asarray(h5["ans"][:])
            extra = {
                k: np.asarray(h5[k][:]) for k in ("ra", "dec", "redshift", "pxscale") if k in h5
            }
    except DataFormatError:
        raise
    except _H5_ERRORS as exc:
        raise DataFormatError(
            f"Galaxy10 file '{shown}' cannot be read (truncated or corrupt file?): "
            f"{' '.join(str(exc).split())}"
        ) from None
    names = GALAXY10_DECALS_CLASS_NAMES if shape[1] >= 128 else GALAXY10_SDSS_CLASS_NAMES
    ans = _class_indices(raw, n_classes=len(names), where=f"Galaxy10 file '{shown}'")
    for key, values in extra.items():
        if values.shape != ans.shape or values.dtype.kind not in "iuf":
            raise DataFormatError(
                f"Galaxy10 file '{shown}' dataset {key!r}: expected {len(ans)} numbers, "
                f"found {values.dtype} {values.shape}"
            )
    catalog = pd.DataFrame({"id": [str(i) for i in range(len(ans))], "label": ans})
    for key, column in (("ra", "ra"), ("dec", "dec"), ("redshift", "redshift")):
        if key in extra:
            catalog[column] = extra[key].astype(np.float64)
    catalog["pixel_scale_arcsec"] = (
        extra["pxscale"].astype(np.float64) if "pxscale" in extra else np.nan
    )
    catalog["source_file"] = safe_text(path.name)
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


def _class_indices(raw: np.ndarray, *, n_classes: int, where: str) -> np.ndarray:
    """``ans`` as int64, each a whole number in ``0..n_classes - 1`` (else named by row)."""
    if raw.dtype.kind in "iu":
        values = raw.astype(np.int64)
        bad = (values < 0) | (values >= n_classes)
    elif raw.dtype.kind == "f":
        finite = np.isfinite(raw)
        values = np.where(finite, raw, -1).astype(np.int64)
        bad = ~finite | (values != np.where(finite, raw, -1)) | (values < 0)
        bad |= values >= n_classes
    else:
        raise DataFormatError(
            f"{where} dataset 'ans' holds {raw.dtype} values, not integer class indices "
            f"0..{n_classes - 1}"
        )
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        value = raw[j].item()
        kind = (
            "" if raw.dtype.kind in "iu" or float(value).is_integer() else " (not a whole number)"
        )
        raise DataFormatError(
            f"{where} row {j}, dataset 'ans': class {value!r} not in 0..{n_classes - 1}{kind}"
        )
    return values
