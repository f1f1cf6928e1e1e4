"""Simulation speed: galaxies/s at 64 and 128 px, 2-worker speed-up, vs plain GalSim.

Figures (sdss preset, default config: bulge, disk, bars for half, arms, knots,
jpeg-gray rendering, one process unless stated):

- ``galaxies_per_s_64`` / ``galaxies_per_s_128``: in-memory simulation rate;
- ``speedup_2_workers``: time of ``simulate_dataset`` with 1 worker over 2 workers;
- ``baseline_bulge_disk_per_s_64``: plain GalSim de Vaucouleurs bulge + exponential
  disk + Moffat PSF + noise 64x64 stamps per second, measured in the same run;
- ``ratio_vs_bulge_disk_64``: ``galaxies_per_s_64 / baseline_bulge_disk_per_s_64``
  (the issue asks for >= 1/3);
- ``galaxies_per_s_64_<stand-in>`` and ``ratio_vs_bulge_disk_64_<stand-in>``: the same
  for the realism stand-ins (``presets.STAND_INS``; ``gz1`` rendered ``jpeg-rgb``,
  ``galaxy_builder`` as its config says), with their fields of faint sources, knots,
  noise grain and JPEG compression at the original cutout size.

GalSim's Sersic tables are built before timing (``warmup_s``); they are built once
per process in real runs too.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def _baseline_rate(n: int, size: int = 64) -> float:
    """Plain GalSim bulge + disk + noise stamps per second."""
    import galsim

    rng = galsim.BaseDeviate(1234)
    psf = galsim.Moffat(beta=3.5, fwhm=1.4)
    t0 = time.perf_counter()
    for i in range(n):
        bulge = galsim.DeVaucouleurs(half_light_radius=1.0, flux=4e4)
        disk = galsim.Exponential(half_light_radius=3.0, flux=6e4).shear(
            q=0.5, beta=(i * 7.0 % 180) * galsim.degrees
        )
        image = galsim.Convolve(bulge + disk, psf).drawImage(nx=size, ny=size, scale=0.396)
        image.addNoise(galsim.CCDNoise(rng, sky_level=177.0, gain=4.7, read_noise=5.0))
    return n / (time.perf_counter() - t0)


#: Stand-in (key of ``presets.STAND_INS``) -> (figure suffix, rendering override).
STAND_IN_RUNS = {"gz1": ("gz1", "jpeg-rgb"), "galaxy-builder": ("galaxy_builder", None)}


def _suite_rate(n: int, size: int, seed: int, stand_in: str | None = None) -> float:
    from galaxy_xai.simulate import simulate_galaxies
    from galaxy_xai.simulate.presets import STAND_INS

    config = None if stand_in is None else STAND_INS[stand_in]
    rendering = None if stand_in is None else STAND_IN_RUNS[stand_in][1]
    t0 = time.perf_counter()
    simulate_galaxies(n, preset="sdss", size=size, seed=seed, config=config, rendering=rendering)
    return n / (time.perf_counter() - t0)


def run(quick: bool) -> dict:
    """Measure the figures; ``quick`` uses a few hundred galaxies per figure."""
    from galaxy_xai.progress import set_progress_enabled
    from galaxy_xai.simulate import simulate_dataset
    from galaxy_xai.simulate.suite import resolve_config, warm_galsim_cache

    set_progress_enabled(False)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    n_rate = 150 if quick else 1000
    n_workers = 400 if quick else 3000

    t0 = time.perf_counter()
    for size in (64, 128):
        cfg = resolve_config(None, preset="sdss", size=size)
        for seed in (1, 2, 3, 11, 12, 21, 22):
            warm_galsim_cache(cfg, seed, range(max(n_rate // 3, 100)))
    warmup_s = time.perf_counter() - t0

    # interleave baseline and suite in rounds so that load changes hit both alike;
    # rates are totals over the rounds
    rounds = 3
    per_round = max(n_rate // rounds, 1)
    t_base = t_64 = t_128 = 0.0
    t_stand_in = dict.fromkeys(STAND_IN_RUNS, 0.0)
    for r in range(rounds):
        t_base += per_round / _baseline_rate(per_round)
        t_64 += per_round / _suite_rate(per_round, 64, seed=1 + 10 * r)
        t_128 += per_round / _suite_rate(per_round, 128, seed=2 + 10 * r)
        for name in STAND_IN_RUNS:
            t_stand_in[name] += per_round / _suite_rate(per_round, 64, 3 + 10 * r, name)
    n_timed = rounds * per_round
    baseline, rate_64, rate_128 = n_timed / t_base, n_timed / t_64, n_timed / t_128
    stand_ins = {}
    for name, (suffix, _) in STAND_IN_RUNS.items():
        rate = n_timed / t_stand_in[name]
        stand_ins[f"galaxies_per_s_64_{suffix}"] = rate
        stand_ins[f"ratio_vs_bulge_disk_64_{suffix}"] = rate / baseline

    with tempfile.TemporaryDirectory() as tmp:
        times = {}
        for workers in (1, 2):
            t = time.perf_counter()
            simulate_dataset(
                Path(tmp) / f"w{workers}.h5", n=n_workers, size=64, seed=3, workers=workers
            )
            times[workers] = time.perf_counter() - t

    return {
        "galaxies_per_s_64": rate_64,
        "galaxies_per_s_128": rate_128,
        "speedup_2_workers": times[1] / times[2],
        "baseline_bulge_disk_per_s_64": baseline,
        "ratio_vs_bulge_disk_64": rate_64 / baseline,
        **stand_ins,
        "ms_per_galaxy_64": 1e3 / rate_64,
        "ms_per_galaxy_128": 1e3 / rate_128,
        "dataset_s_1_worker": times[1],
        "dataset_s_2_workers": times[2],
        "n_galaxies_rate": n_timed,
        "n_galaxies_workers": n_workers,
        "warmup_s": warmup_s,
        "cpu_count": os.cpu_count() or 1,
    }
