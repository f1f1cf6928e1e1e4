"""sim-realism: how well simulated galaxies pass for the real sets they stand in for.

Pairs (simulation preset / rendering vs the real set, same size and preprocessing):

- ``gzb``: ``sdss`` counts, framed like the cutouts, through the importer's own asinh
  stretch (``rendering="asinh"``) vs the Galaxy Builder SDSS r-band cutouts (masked
  pixels filled);
- ``gz1_colour``: ``sdss`` ``jpeg-rgb`` rendering, framed as in gamornet-sim2real, vs
  the GZ1 colour JPEGs (central half, 64 px);
- ``gz1_grey``: ``jpeg-gray`` vs the same GZ1 images as grey luma.

Each real set is split by a hash of its ids into a calibration half (which simulation
priors may be tuned on) and an evaluation half: every figure here is on the
evaluation half only.

The pairs' simulations use the stand-in configs of
:data:`galaxy_xai.simulate.presets.STAND_INS`; ``*_baseline`` keys give the domain AUCs
of the configs the other benchmarks used before (``GZB_SIM_CONFIG``, gamornet-sim2real's
framing, default JPEG stretch) and, for gzb, the zero-filled masks, in the same run.

Keys per pair: ``domain_auc_<pair>`` (5-fold CNN ROC AUC, 0.5 = indistinguishable),
``domain_auc_stats_<pair>`` (logistic regression on simple pixel statistics),
``w1_<quantity>_<pair>`` and ``ks_<quantity>_<pair>`` (statmorph morphology),
``median_<statistic>_{sim,real}_<pair>``, ``n_sim_<pair>``, ``n_real_<pair>``.
Figures: ``benchmarks/results/sim-realism-<pair>-montage.png`` (random simulated vs
random real galaxies of the same class) and ``sim-realism-<pair>-morphology.png``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import cache_dir, data_dir
from benchmarks.bar_length_gzb import GZB_SIM_CONFIG
from benchmarks.gamornet_sim2real import CROP, FRAME_R90
from galaxy_xai.simulate.presets import STAND_INS

SIZE = 64
#: Per mode: GZ1 galaxies of the evaluation half (GZB's half is all 101), CNN epochs,
#: and galaxies per set measured with statmorph (0.27 s each on one core).
SETTINGS = {
    True: {"n_gz1": 200, "epochs": 8, "n_morph": 60},
    False: {"n_gz1": 1000, "epochs": 15, "n_morph": 300},
}
RESULTS = Path(__file__).resolve().parent / "results"
#: The report run folder (realism panels) and its HTML: ``sim-realism-report.html``.
REPORT_DIR = RESULTS / "sim-realism-report"


def _evaluation_half(ids: np.ndarray) -> np.ndarray:
    """Rows of the evaluation half (the other half is for calibrating priors)."""
    from galaxy_xai.data.splits import id_hash_uniform

    return np.flatnonzero(id_hash_uniform(list(ids), seed=15) >= 0.5)


def _gzb_real(mask_fill: str) -> tuple[np.ndarray, np.ndarray]:
    """Evaluation-half Galaxy Builder cutouts and their barred flags."""
    from galaxy_xai.data import open_dataset
    from galaxy_xai.data.importer import import_dataset

    path = cache_dir() / f"realism_gzb64_{mask_fill}.h5"
    if not path.exists():
        import_dataset("galaxy-builder", data_dir() / "galaxy-builder", path, size=SIZE,
                       mask_fill=mask_fill)  # fmt: skip
    with open_dataset(path) as ds:
        rows = _evaluation_half(ds.catalog["id"].to_numpy())
        cat = ds.catalog.iloc[rows]
        return ds.images[rows], cat["has_bar"].to_numpy(bool)


def _gz1_real(channels: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random evaluation-half GZ1 images (disk-like classes flagged)."""
    from galaxy_xai.data import import_dataset, open_dataset

    path = cache_dir() / f"gz1_{SIZE}px_{channels}_crop{int(CROP * 100)}.h5"
    if not path.exists():
        import_dataset("gz1", data_dir() / "gz1-sdss", path, size=SIZE, crop=CROP,
                       channels=channels, workers=2)  # fmt: skip
    with open_dataset(path) as ds:
        rows = _evaluation_half(ds.catalog["id"].to_numpy())
        rows = np.sort(np.random.default_rng(0).choice(rows, size=min(n, len(rows)), replace=False))
        disk = np.isin(ds.catalog["label"].to_numpy()[rows], [1, 2, 3])
        return ds.images[rows], disk


def _simulate(name: str, n: int, *, rendering: str, config: dict[str, Any], bar_fraction: float,
              seed: int) -> tuple[np.ndarray, Any]:  # fmt: skip
    from galaxy_xai.data import open_dataset
    from galaxy_xai.simulate import simulate_dataset

    with tempfile.TemporaryDirectory() as tmp:  # a few seconds: never a stale cache
        path = Path(tmp) / f"{name}.h5"
        simulate_dataset(
            path, n=n, preset="sdss", size=SIZE, bar_fraction=bar_fraction, seed=seed,
            workers=2, config=config, rendering=rendering,
        )  # fmt: skip
        with open_dataset(path) as ds:
            return ds.images[:], ds.catalog


def _montage(path: Path, sim: np.ndarray, real: np.ndarray, sim_cls: np.ndarray,
             real_cls: np.ndarray, names: tuple[str, str], title: str) -> None:  # fmt: skip
    """Rows: simulated / real for each class; six random galaxies each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(1)
    panels = []
    for flag, cls in ((True, names[0]), (False, names[1])):
        for label, images, classes in (("sim", sim, sim_cls), ("real", real, real_cls)):
            pool = np.flatnonzero(classes == flag)
            pick = rng.choice(pool, size=min(6, len(pool)), replace=False) if len(pool) else []
            panels.append((f"{label}: {cls}", images[pick]))
    fig, axes = plt.subplots(len(panels), 6, figsize=(9, 1.6 * len(panels)))
    for r, (label, images) in enumerate(panels):
        for c in range(6):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(images):
                im = images[c]
                ax.imshow(im[0] if im.shape[0] == 1 else im.transpose(1, 2, 0), cmap="gray",
                          vmin=0, vmax=1, origin="lower")  # fmt: skip
        axes[r, 0].set_ylabel(label, fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _pair(name: str, sim: np.ndarray, real: np.ndarray, sim_cls: np.ndarray,
          real_cls: np.ndarray, classes: tuple[str, str], s: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    from galaxy_xai.simulate.realism import (
        MORPHOLOGY_QUANTITIES,
        STATISTICS,
        distribution_distances,
        domain_auc_cnn,
        domain_auc_statistics,
        image_statistics,
        morphology_table,
    )

    out: dict[str, Any] = {f"n_sim_{name}": len(sim), f"n_real_{name}": len(real)}
    t0 = time.perf_counter()
    out[f"domain_auc_{name}"] = domain_auc_cnn(sim, real, epochs=s["epochs"])
    stats_sim, stats_real = image_statistics(sim), image_statistics(real)
    out[f"domain_auc_stats_{name}"] = domain_auc_statistics(stats_sim, stats_real)
    for key, d in distribution_distances(stats_sim, stats_real, STATISTICS).items():
        out[f"median_{key}_sim_{name}"] = d["median_sim"]
        out[f"median_{key}_real_{name}"] = d["median_real"]
    rng = np.random.default_rng(2)  # a random n_morph of each set
    pick_sim = np.sort(rng.permutation(len(sim))[: s["n_morph"]])
    pick_real = np.sort(rng.permutation(len(real))[: s["n_morph"]])
    morph_sim, morph_real = morphology_table(sim[pick_sim]), morphology_table(real[pick_real])
    out[f"statmorph_bad_fraction_sim_{name}"] = float(morph_sim["flag_bad"].mean())
    out[f"statmorph_bad_fraction_real_{name}"] = float(morph_real["flag_bad"].mean())
    for key, d in distribution_distances(morph_sim, morph_real, MORPHOLOGY_QUANTITIES).items():
        out[f"w1_{key}_{name}"] = d["w1"]
        out[f"ks_{key}_{name}"] = d["ks"]
        out[f"median_{key}_sim_{name}"] = d["median_sim"]
        out[f"median_{key}_real_{name}"] = d["median_real"]
    RESULTS.mkdir(exist_ok=True)
    _montage(RESULTS / f"sim-realism-{name}-montage.png", sim, real, sim_cls, real_cls, classes,
             f"{name}: random simulated vs random real galaxies (evaluation half)")  # fmt: skip
    from galaxy_xai.report import write_realism
    from galaxy_xai.report.artefacts import read_realism
    from galaxy_xai.report.figures import realism_figure

    write_realism(
        REPORT_DIR, name, simulated=morph_sim, real=morph_real,
        title=f"{name}: statmorph morphology ({len(morph_sim)} simulated, {len(morph_real)} real)",
        description="Evaluation half of the real set; simulations from the stand-in config.",
        metrics={k: v for k, v in out.items() if k.startswith("domain_auc")},
    )  # fmt: skip
    # the report's own histogram figure, also as a PNG beside the montage
    figure = realism_figure(read_realism(REPORT_DIR, name))
    (RESULTS / f"sim-realism-{name}-morphology.png").write_bytes(figure.png)
    out[f"seconds_{name}"] = time.perf_counter() - t0
    return out


def _baseline(name: str, sim: np.ndarray, real: np.ndarray, s: dict[str, Any]) -> dict[str, Any]:
    """The domain AUCs of the simulations (and real preprocessing) before this benchmark."""
    from galaxy_xai.simulate.realism import (
        domain_auc_cnn,
        domain_auc_statistics,
        image_statistics,
    )

    return {
        f"domain_auc_{name}": domain_auc_cnn(sim, real, epochs=s["epochs"]),
        f"domain_auc_stats_{name}": domain_auc_statistics(
            image_statistics(sim), image_statistics(real)
        ),
    }


def run(quick: bool) -> dict[str, Any]:
    import torch

    # the domain CNN is tiny: one thread is faster than two threads that share two cores
    torch.set_num_threads(1)
    s = SETTINGS[quick]
    t0 = time.perf_counter()
    out: dict[str, Any] = {"mode": "quick" if quick else "full", "size_px": SIZE}

    gz1_before = {"framing": "relative", "frame_r90": FRAME_R90}  # as gamornet-sim2real
    variants = {  # pair -> (the stand-in's config, the configs the benchmarks use today)
        "gzb": (STAND_INS["galaxy-builder"], GZB_SIM_CONFIG),
        "gz1": (STAND_INS["gz1"], gz1_before),
    }
    real, barred = _gzb_real("interpolate")
    for tag, config in zip(("", "_baseline"), variants["gzb"], strict=True):
        sim, cat = _simulate(f"gzb{tag}", len(real), rendering="asinh", config=config,
                             bar_fraction=float(barred.mean()), seed=1501)  # fmt: skip
        if tag:  # the baseline: today's configs and the zero-filled import, AUCs only
            out.update(_baseline(f"gzb{tag}", sim, _gzb_real("zero")[0], s))
            continue
        out.update(_pair("gzb", sim, real, cat["barred"].to_numpy(bool), barred,
                         ("barred", "unbarred"), s))  # fmt: skip
    for name, channels, rendering in (("gz1_colour", "rgb", "jpeg-rgb"),
                                      ("gz1_grey", "gray", "jpeg-gray")):  # fmt: skip
        real, disk = _gz1_real(channels, s["n_gz1"])
        for tag, config in zip(("", "_baseline"), variants["gz1"], strict=True):
            sim, cat = _simulate(f"{name}{tag}", len(real), rendering=rendering, config=config,
                                 bar_fraction=0.3, seed=1502)  # fmt: skip
            if tag:
                out.update(_baseline(f"{name}{tag}", sim, real, s))
                continue
            sim_disk = cat["bulge_to_total"].to_numpy(float) < 0.5
            out.update(_pair(name, sim, real, sim_disk, disk, ("disk-like", "bulge-like"), s))
    from galaxy_xai.report import build_report

    out["report"] = str(build_report(REPORT_DIR, RESULTS / "sim-realism-report.html"))
    out["seconds"] = time.perf_counter() - t0
    return out
