"""Simulating many galaxies: in memory, or into a dataset file with workers and shards.

Galaxy ``i`` depends only on ``(seed, i)`` (see :mod:`galaxy_xai.simulate.truth`), so
the output is identical whatever the worker count, shard split or resume history.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import multiprocessing
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from galaxy_xai.errors import ParameterError
from galaxy_xai.io import partial_path
from galaxy_xai.resources import available_memory_bytes, format_bytes
from galaxy_xai.sharding import worker_pool
from galaxy_xai.simulate.config import SimulationConfig, load_simulation_config

__all__ = [
    "SEED_SCHEME",
    "resolve_config",
    "simulate_dataset",
    "simulate_galaxies",
    "warm_galsim_cache",
]

logger = logging.getLogger(__name__)

#: How galaxy ``index`` of a run with ``seed`` gets its random numbers.
SEED_SCHEME = (
    "numpy.random.default_rng(SeedSequence([seed, index, k])), k = 0 parameters (one "
    "fixed slot of uniforms per parameter), 1 knot positions, 2 noise"
)
#: Angle convention of every *_position_angle_deg column.
ANGLE_CONVENTION = (
    "degrees counter-clockwise from +x (array axis 1, column index) towards +y (array "
    "axis 0, row index) of image[y, x], in [0, 180); centre at ((W-1)/2, (H-1)/2)"
)
_BLOCK = 16  # galaxies per work unit (and per write)


def resolve_config(
    config: SimulationConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> SimulationConfig:
    """A :class:`SimulationConfig` from a config/mapping/file plus top-level overrides."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if isinstance(config, SimulationConfig) and not overrides:
        return config
    return load_simulation_config(config, **overrides)


def _check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ParameterError(name, value, f"must be an integer >= {minimum}")
    return int(value)


# --------------------------------------------------------------------------- sizes
#: Memory per galaxy held until a dataset file is finished: DatasetWriter keeps every
#: truth-catalogue row (49 columns, ~4 KB as Python dicts, measured) and builds the
#: catalogue table from them at the end (~9 KB per row at the peak).
CATALOG_BYTES_PER_GALAXY = 10_000
#: Copies of each image :func:`simulate_galaxies` holds at once, counted as float32:
#: the rendered list, the stacked array and the float32 result.
_IN_MEMORY_IMAGE_COPIES = 3


def _free_disk_bytes(path: Path) -> tuple[Path, int]:
    """The nearest existing folder of ``path`` and its free space in bytes."""
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder, int(shutil.disk_usage(folder).free)


def _check_dataset_fits(
    out: Path, n: int, rows: int, cfg: SimulationConfig, *, resume: bool
) -> None:
    """Refuse up front a run whose file cannot fit on disk or catalogue in memory.

    Images are streamed to the HDF5 file block by block, so they need disk space, not
    memory (estimated uncompressed, from the storage dtype); the catalogue rows are
    held in memory until the file is finished (:data:`CATALOG_BYTES_PER_GALAXY`).
    """
    c, h, w = cfg.channels, cfg.size, cfg.size
    per_image = c * h * w * np.dtype(cfg.storage_dtype).itemsize
    folder, free = _free_disk_bytes(out)
    partial = partial_path(out)
    if resume and partial.is_file():
        free += partial.stat().st_size  # rewritten in place
    fit_disk = free // per_image
    memory = available_memory_bytes()
    fit_memory = rows if memory is None else memory // CATALOG_BYTES_PER_GALAXY
    where = "" if rows == n else " in this shard"
    if rows > fit_disk and fit_disk <= fit_memory:
        raise ParameterError(
            "n",
            n,
            f"{rows} galaxies{where} of {c}x{h}x{w} {cfg.storage_dtype} need "
            f"~{format_bytes(rows * per_image)} of disk space (the file is written as it goes, "
            f"so disk, not memory, holds the images; uncompressed estimate) but "
            f"'{folder}' has {format_bytes(free)} free: at most {fit_disk} galaxies fit",
        )
    if memory is not None and rows > fit_memory:
        raise ParameterError(
            "n",
            n,
            f"the truth catalogue of {rows} galaxies{where} is held in memory until the "
            f"file is finished (~{format_bytes(rows * CATALOG_BYTES_PER_GALAXY)}) but "
            f"{format_bytes(memory)} is available: at most {fit_memory} galaxies fit in one "
            "file; split the run into shards (--shard i/N)",
        )


def _check_memory_fits(n: int, cfg: SimulationConfig) -> None:
    """Refuse up front an in-memory simulation larger than the available memory."""
    memory = available_memory_bytes()
    if memory is None:
        return
    c, h, w = cfg.channels, cfg.size, cfg.size
    per_galaxy = _IN_MEMORY_IMAGE_COPIES * c * h * w * 4 + CATALOG_BYTES_PER_GALAXY
    fit = memory // per_galaxy
    if n > fit:
        raise ParameterError(
            "n",
            n,
            f"{n} galaxies of {c}x{h}x{w} float32 are all held in memory at once "
            f"(~{format_bytes(n * per_galaxy)}) but {format_bytes(memory)} is available: at most "
            f"{fit} galaxies fit; stream them to a file with simulate_dataset "
            "('galaxy-xai simulate') instead",
        )


# --------------------------------------------------------------------------- workers
def _render_block(
    config: SimulationConfig, seed: int, indices: Sequence[int]
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Images ``(B, C, H, W)`` (uint8 or float32) and catalogue rows of some galaxies."""
    from galaxy_xai.simulate.render import render_galaxy
    from galaxy_xai.simulate.truth import catalog_from_parameters, draw_parameters

    params, images, snrs = [], [], []
    for index in indices:
        p = draw_parameters(config, seed, int(index))
        image, snr = render_galaxy(p, config)
        params.append(p)
        images.append(image)
        snrs.append(snr)
    catalog = catalog_from_parameters(params, snrs)
    return np.stack(images), catalog.to_dict("records")


_WORKER_STATE: dict[str, Any] = {}


def _worker_init(config: SimulationConfig, seed: int) -> None:
    _WORKER_STATE["config"] = config
    _WORKER_STATE["seed"] = seed


def _worker_block(start: int, indices: list[int]) -> tuple[int, np.ndarray, list[dict[str, Any]]]:
    images, rows = _render_block(_WORKER_STATE["config"], _WORKER_STATE["seed"], indices)
    return start, images, rows


def _index_grid(dist: Any, step: float, limit: int = 64) -> list[float] | None:
    """Every value a rounded Sersic index can take, or None if not enumerable."""
    lo, hi = dist.support
    if lo == hi:
        return [lo]
    if step <= 0 or (hi - lo) / step > limit:
        return None
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [round(k * step, 6) for k in range(first, last + 1)]


def warm_galsim_cache(config: SimulationConfig, seed: int, indices: Sequence[int]) -> int:
    """Build GalSim's Sersic tables that ``indices`` will need (returns how many).

    Done once in the parent before worker processes fork, so that workers share the
    tables instead of each spending ~0.1 s per Sersic index. When the rounded indices
    can be enumerated and there are more galaxies than values, every value of the grid
    is built; otherwise the galaxies' own parameters are drawn to find them.
    """
    import galsim

    from galaxy_xai.simulate.components import BULGE_TRUNCATION_HLR
    from galaxy_xai.simulate.truth import draw_parameters

    bulge_grid = _index_grid(config.bulge.sersic_n, config.bulge.sersic_n_step)
    bar_grid = _index_grid(config.bar.sersic_n, config.bar.sersic_n_step)
    if bulge_grid is None or bar_grid is None or len(indices) < len(bulge_grid) + len(bar_grid):
        bulge_set, bar_set = set(), set()
        for index in indices:
            p = draw_parameters(config, seed, int(index))
            if p.bulge_to_total > 0:
                bulge_set.add(p.bulge_sersic_n)
            if p.barred:
                bar_set.add(p.bar_sersic_n)
        bulge_grid, bar_grid = sorted(bulge_set), sorted(bar_set)
    psf = galsim.Gaussian(fwhm=1.0)
    fraction = config.bar.half_light_fraction
    profiles = [
        galsim.Sersic(n, half_light_radius=1.0, trunc=BULGE_TRUNCATION_HLR, flux_untruncated=False)
        for n in (bulge_grid if config.bulge.enabled else [])
    ] + [
        galsim.Sersic(n, half_light_radius=fraction, trunc=1.0, flux_untruncated=False)
        for n in (bar_grid if config.bar_fraction > 0 else [])
    ]
    for prof in profiles:
        galsim.Convolve(prof, psf).drawImage(nx=8, ny=8, scale=0.5)
    return len(profiles)


# --------------------------------------------------------------------------- in memory
def simulate_galaxies(
    n: int,
    *,
    preset: str | None = None,
    size: int | None = None,
    bar_fraction: float | None = None,
    seed: int = 0,
    config: SimulationConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    rendering: str | None = None,
    start: int = 0,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Simulate galaxies ``start .. start + n - 1`` of a run in memory.

    Parameters
    ----------
    n
        Number of galaxies.
    preset, size, bar_fraction, rendering
        Override the config's values (defaults: ``"sdss"``, 128 px, 0.5, ``"jpeg-gray"``).
    seed
        Run seed; galaxy ``i`` depends only on ``(seed, i)``.
    config
        A :class:`SimulationConfig`, a mapping or a YAML/TOML path (see
        :func:`load_simulation_config`).
    start
        Global index of the first galaxy.

    Returns
    -------
    images : numpy.ndarray
        ``(n, C, H, W)`` float32: counts, or JPEG-like values in [0, 1] (k / 255).
    catalog : pandas.DataFrame
        The truth catalogue, one row per galaxy (see :mod:`galaxy_xai.simulate.truth`).

    Raises
    ------
    ParameterError
        On an impossible parameter, naming it and its value, or an ``n`` whose
        images cannot fit in the available memory (the message says how many fit).
    """
    from galaxy_xai.simulate.truth import check_bars_fit, check_seed

    n = _check_count("n", n, 0)
    start = _check_count("start", start, 0)
    seed = check_seed(seed)
    cfg = resolve_config(
        config, preset=preset, size=size, bar_fraction=bar_fraction, rendering=rendering
    )
    check_bars_fit(cfg)
    _check_memory_fits(n, cfg)
    if n == 0:
        from galaxy_xai.simulate.truth import CATALOG_COLUMNS

        return (
            np.zeros((0, cfg.channels, cfg.size, cfg.size), np.float32),
            pd.DataFrame(columns=list(CATALOG_COLUMNS)),
        )
    images, rows = _render_block(cfg, seed, range(start, start + n))
    out = images.astype(np.float32)
    if images.dtype == np.uint8:
        out *= np.float32(1.0 / 255.0)  # exactly as the dataset store reads uint8 back
    return out, pd.DataFrame(rows)


# --------------------------------------------------------------------------- dataset
def _parse_shard(shard: tuple[int, int] | str | None) -> tuple[int, int]:
    from galaxy_xai.sharding import parse_shard

    if shard is None or isinstance(shard, str):
        return parse_shard(shard)
    try:
        index, count = (int(v) for v in shard)
    except (TypeError, ValueError):
        raise ParameterError("shard", shard, "must be (i, N) or 'i/N'") from None
    return parse_shard(f"{index}/{count}")


def _fingerprint(config_dict: dict[str, Any], seed: int, n: int, shard: tuple[int, int]) -> str:
    import galsim

    payload = json.dumps(
        {"config": config_dict, "seed": seed, "n": n, "shard": shard, "galsim": galsim.__version__},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _metadata(
    cfg: SimulationConfig,
    config_dict: dict[str, Any],
    *,
    seed: int,
    n: int,
    shard: tuple[int, int],
    rows: np.ndarray,
    fingerprint: str,
) -> dict[str, Any]:
    import galsim

    from galaxy_xai import __version__
    from galaxy_xai.data.curation import GAMORNET_CLASS_NAMES

    survey = cfg.survey_config
    return {
        "kind": "simulation",
        "label_names": list(GAMORNET_CLASS_NAMES),
        "class_names": {
            "label": list(GAMORNET_CLASS_NAMES),
            "morph_label": list(GAMORNET_CLASS_NAMES),
            "barred": ["unbarred", "barred"],
        },
        "preset": cfg.preset,
        "band": survey.band,
        "rendering": cfg.rendering,
        "framing": cfg.framing,
        "pixel_scale_arcsec": survey.pixel_scale_arcsec if cfg.framing == "fixed" else None,
        "config": config_dict,
        "seed": seed,
        "seed_scheme": SEED_SCHEME,
        "angle_convention": ANGLE_CONVENTION,
        "n_total": n,
        "shard": list(shard),
        "index_range": [int(rows[0]), int(rows[-1]) + 1] if len(rows) else [0, 0],
        "fingerprint": fingerprint,
        "galsim_version": galsim.__version__,
        "preprocessing": {
            "size": cfg.size,
            "channels": cfg.channels,
            "rendering": cfg.rendering,
            "stretch": {"counts": "linear counts", "asinh": "importer asinh"}.get(
                cfg.rendering, "lupton-asinh"
            ),
            "noise": cfg.noise,
        },
        "provenance": {"generator": "galaxy_xai.simulate", "galaxy_xai_version": __version__},
    }


def _blocks(rows: np.ndarray, size: int) -> list[np.ndarray]:
    """Split sorted local row numbers into contiguous runs of at most ``size``."""
    if not len(rows):
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    out: list[np.ndarray] = []
    for run in np.split(rows, breaks):
        out.extend(run[i : i + size] for i in range(0, len(run), size))
    return out


def _run_blocks(
    cfg: SimulationConfig, seed: int, blocks: list[tuple[int, list[int]]], workers: int
) -> Iterator[tuple[int, np.ndarray, list[dict[str, Any]]]]:
    """Yield (local start, images, rows) per block, in completion order."""
    if workers == 1 or len(blocks) <= 1:
        for start, indices in blocks:
            images, rows = _render_block(cfg, seed, indices)
            yield start, images, rows
        return
    warm_galsim_cache(cfg, seed, [i for _, idx in blocks for i in idx])
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    executor = worker_pool(  # workers exit if this process dies
        workers, mp_context=context, initializer=_worker_init, initargs=(cfg, seed)
    )
    pending: set[Future[Any]] = set()
    queue = list(blocks)
    try:
        while queue or pending:
            while queue and len(pending) < 4 * workers:
                start, indices = queue.pop(0)
                pending.add(executor.submit(_worker_block, start, indices))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def simulate_dataset(
    out: str | os.PathLike[str],
    *,
    n: int,
    preset: str | None = None,
    size: int | None = None,
    bar_fraction: float | None = None,
    seed: int = 0,
    workers: int = 1,
    shard: tuple[int, int] | str | None = None,
    config: SimulationConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    rendering: str | None = None,
    resume: bool = False,
) -> Path:
    """Simulate ``n`` galaxies (or one shard of them) into a dataset file.

    The file is the standard dataset store (:mod:`galaxy_xai.data.store`): JPEG-like
    renderings stored as uint8, counts as float32, the truth catalogue as columns, and
    metadata with the resolved config, the seed scheme and the GalSim version.

    Parameters
    ----------
    out
        Output ``.h5`` path (written as ``<out>.partial`` until complete).
    n
        Total number of galaxies of the run (all shards together).
    preset, size, bar_fraction, rendering, config
        As in :func:`simulate_galaxies`.
    seed
        Run seed.
    workers
        Worker processes; the output does not depend on it.
    shard
        ``(i, N)`` or ``"i/N"``: write only the i-th of N contiguous parts (global
        indices ``n*i//N .. n*(i+1)//N - 1``); join them with
        :func:`galaxy_xai.data.join.join_datasets`.
    resume
        Continue an interrupted run with the same settings from its partial file
        (a finished ``out`` with the same settings is returned as is).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ParameterError
        On an impossible parameter (naming it and its value), or an ``n`` whose file
        cannot fit in the free disk space or whose truth catalogue cannot fit in the
        available memory (checked before anything is written; the message says how
        many galaxies fit).
    OutputBusyError
        If another process is writing ``out`` now (its partial file is locked).
    """
    from galaxy_xai.config import config_to_dict
    from galaxy_xai.data.store import DatasetWriter, open_dataset
    from galaxy_xai.progress import progress
    from galaxy_xai.sharding import shard_bounds, shard_range
    from galaxy_xai.simulate.truth import check_bars_fit, check_seed

    n = _check_count("n", n, 1)
    workers = _check_count("workers", workers, 1)
    seed = check_seed(seed)
    shard_index, shard_count = _parse_shard(shard)
    cfg = resolve_config(
        config, preset=preset, size=size, bar_fraction=bar_fraction, rendering=rendering
    )
    check_bars_fit(cfg)
    first, stop = shard_bounds(n, shard_index, shard_count)
    if stop == first:
        raise ParameterError("shard", f"{shard_index}/{shard_count}", f"is empty for n={n}")
    config_dict = config_to_dict(cfg)
    fingerprint = _fingerprint(config_dict, int(seed), n, (shard_index, shard_count))
    out = Path(out)
    if resume and out.is_file():
        with open_dataset(out) as done:
            if done.metadata.get("fingerprint") == fingerprint:
                logger.info("'%s' is already complete with these settings", out)
                return out
    _check_dataset_fits(out, n, stop - first, cfg, resume=resume)
    global_rows = shard_range(n, shard_index, shard_count)
    metadata = _metadata(
        cfg,
        config_dict,
        seed=int(seed),
        n=n,
        shard=(shard_index, shard_count),
        rows=global_rows,
        fingerprint=fingerprint,
    )
    with DatasetWriter(
        out,
        n_images=len(global_rows),
        image_shape=(cfg.channels, cfg.size, cfg.size),
        storage_dtype=cfg.storage_dtype,
        metadata=metadata,
        resume=resume,
        fingerprint=fingerprint,
    ) as writer:
        missing = writer.missing_indices()
        if resume and len(missing) < len(global_rows):
            logger.info(
                "resuming '%s': %d of %d galaxies left", out, len(missing), len(global_rows)
            )
        blocks = [(int(b[0]), [int(global_rows[i]) for i in b]) for b in _blocks(missing, _BLOCK)]

        def _written() -> Iterator[int]:
            for start, images, rows in _run_blocks(cfg, int(seed), blocks, workers):
                writer.write(start, images, rows)
                yield from range(len(rows))

        for _ in progress(_written(), desc="simulate", total=len(missing), unit="galaxy"):
            pass
    return out
