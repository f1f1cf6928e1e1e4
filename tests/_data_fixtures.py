"""Small files in the exact public layouts of the formats absent from the shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from galaxy_xai.data.curation import GZ2_TASKS
from galaxy_xai.data.readers.gz2 import KAGGLE_VOTE_COLUMNS


def jpeg(path: Path, value: int | tuple[int, int, int] = 128, size: int = 48) -> Path:
    """A uniform JPEG (grey level or RGB colour) with a bright centre square."""
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = (value,) * 3 if isinstance(value, int) else value
    img = Image.new("RGB", (size, size), colour)
    img.save(path, quality=95)
    return path


def corrupt(path: Path) -> Path:
    """Truncate an image file to a third of its bytes."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def kaggle(root: Path, ids=(100008, 100023, 100053)) -> Path:
    """``training_solutions_rev1.csv`` + ``images_training_rev1/<GalaxyID>.jpg``."""
    rng = np.random.default_rng(0)
    rows = []
    for gid in ids:
        jpeg(root / "images_training_rev1" / f"{gid}.jpg", int(rng.integers(30, 220)))
        rows.append({"GalaxyID": gid, **{c: float(rng.random()) for c in KAGGLE_VOTE_COLUMNS}})
    pd.DataFrame(rows).to_csv(root / "training_solutions_rev1.csv", index=False)
    return root


def hart16(root: Path, objids=(587722981741363294, 587722981741363323, 587722981741559888)) -> Path:
    """``gz2_hart16.csv.gz`` + ``gz2_filename_mapping.csv`` + ``images_gz2/images/<asset_id>.jpg``."""
    rng = np.random.default_rng(1)
    rows, mapping = [], []
    for k, objid in enumerate(objids):
        row = {
            "dr7objid": objid,
            "ra": 180.0 + k,
            "dec": 1.0,
            "rastring": "12:00:00.00",
            "decstring": "+01:00:00.0",
            "sample": "original",
            "gz2_class": "Sc",
            "total_classifications": 44,
            "total_votes": 150,
        }
        for task, answers in GZ2_TASKS.items():
            fr = rng.dirichlet(np.ones(len(answers)))
            for a, f in zip(answers, fr, strict=True):
                stem = f"{task}_{a}"
                row.update(
                    {
                        f"{stem}_count": int(f * 40),
                        f"{stem}_weighted_fraction": f,
                        f"{stem}_fraction": f,
                        f"{stem}_debiased": f,
                        f"{stem}_flag": 0,
                    }
                )
        rows.append(row)
        mapping.append({"objid": objid, "sample": "original", "asset_id": 10 + k})
        jpeg(root / "images_gz2" / "images" / f"{10 + k}.jpg", 60 + 50 * k)
    pd.DataFrame(rows).to_csv(root / "gz2_hart16.csv.gz", index=False)
    pd.DataFrame(mapping).to_csv(root / "gz2_filename_mapping.csv", index=False)
    return root


def decals_catalog(root: Path, n: int = 3) -> Path:
    """A zoobot-style GZ DECaLS catalogue with ``file_loc`` and vote columns."""
    rows = []
    for k in range(n):
        rel = f"J000/J000{k}.png"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 64), (40 * k + 20, 90, 200)).save(path)
        rows.append(
            {
                "iauname": f"J000{k}",
                "id_str": f"J000{k}",
                "file_loc": rel,
                "ra": 10.0 + k,
                "dec": -1.0,
                "redshift": 0.05 + 0.01 * k,
                "smooth-or-featured_smooth": 10 + k,
                "smooth-or-featured_featured-or-disk": 20 - k,
                "smooth-or-featured_total-votes": 30,
                "smooth-or-featured_smooth_fraction": (10 + k) / 30,
                "smooth-or-featured_featured-or-disk_fraction": (20 - k) / 30,
            }
        )
    pd.DataFrame(rows).to_csv(root / "gz_decals_volunteers_5.csv", index=False)
    return root / "gz_decals_volunteers_5.csv"


def galaxy10(path: Path, *, n: int = 6, side: int = 69, decals: bool = False) -> Path:
    """A Galaxy10 HDF5 file (``images`` uint8 (N, H, W, 3), ``ans``; DECaLS extras)."""
    import h5py

    rng = np.random.default_rng(2)
    with h5py.File(path, "w") as h5:
        h5["images"] = rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8)
        h5["ans"] = (np.arange(n) % 10).astype(np.uint8)
        if decals:
            h5["ra"] = np.linspace(0, 10, n)
            h5["dec"] = np.zeros(n)
            h5["redshift"] = np.full(n, 0.03)
            h5["pxscale"] = np.full(n, 0.262)
    return path


def fits_file(
    path: Path, data: np.ndarray, *, scale_deg: float | None = 7.27777777777778e-05
) -> Path:
    """A FITS image with a TAN WCS of the given pixel scale (or none)."""
    from astropy.io import fits

    header = fits.Header()
    if scale_deg is not None:
        header.update(
            CTYPE1="RA---TAN",
            CTYPE2="DEC--TAN",
            CRVAL1=10.0,
            CRVAL2=1.0,
            CRPIX1=1.0,
            CRPIX2=1.0,
            CD1_1=-scale_deg,
            CD1_2=0.0,
            CD2_1=0.0,
            CD2_2=scale_deg,
        )
    if data.ndim == 3 and data.shape[0] == 3:
        header["BANDS"] = "grz"
    fits.PrimaryHDU(data.astype(np.float32), header=header).writeto(path, overwrite=True)
    return path


def gz1(root: Path, labels=(0, 1, 2, 3, 4, 5, 0, 3)) -> Path:
    """A GZ1 folder: ``labels.csv`` (``OBJID,CLASS``) and ``images/<OBJID>.jpeg``."""
    ids = [588848901537202306 + k for k in range(len(labels))]
    for k, objid in enumerate(ids):
        jpeg(root / "images" / f"{objid}.jpeg", 20 + 25 * k, size=60)
    pd.DataFrame({"OBJID": ids, "CLASS": list(labels)}).to_csv(root / "labels.csv", index=False)
    return root
