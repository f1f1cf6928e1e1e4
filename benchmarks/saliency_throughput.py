"""SmoothGrad throughput: galaxy-xai against captum's NoiseTunnel with its defaults.

Both compute SmoothGrad maps (50 noisy samples per image) of the same model output on
the same real galaxy images in the same run: galaxy-xai's :func:`attribute` (noise
batches streamed in chunks, one backward per chunk, parameters frozen, float64
accumulation) and ``NoiseTunnel(Saliency(model)).attribute(x, nt_type="smoothgrad",
nt_samples=50, target=...)`` with every other argument at its default (all images x
samples in one batch). Peak memory is the rise of the resident set size of a fresh
process running one call (peak RSS, ``VmHWM`` reset through ``/proc/self/clear_refs``
just before the call, minus the RSS before it; Linux only). Note captum's default noise
is ``stdevs=1.0`` in input units; galaxy-xai's is 0.15 of each image's range.

Keys: ``maps_per_s``, ``captum_default_maps_per_s``, ``ratio_vs_captum_default``,
``peak_memory_mb``, ``captum_default_peak_memory_mb``.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

import numpy as np

from benchmarks._common import data_dir

IMAGE_SIZE = 64  # px, GaMorNet-like cutouts resized for a CPU-sized network
N_SAMPLES = 50
TARGET = 1


def _images(n: int) -> np.ndarray:
    """``n`` real SDSS gri cutouts (Galaxy Zoo 2), centre-cropped and resized, in [0, 1]."""
    from PIL import Image

    folder = data_dir() / "gz2-kaggle-spirals" / "train" / "spirals"
    files = sorted(folder.glob("*.jpg"))[:n]
    out = []
    for f in files:
        with Image.open(f) as img:
            img = img.convert("RGB").crop((106, 106, 318, 318)).resize((IMAGE_SIZE, IMAGE_SIZE))
            out.append(np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0)
    return np.stack(out)


def _model():
    import torch

    from galaxy_xai.models import build_model

    torch.manual_seed(0)
    return build_model(
        "compact", in_channels=3, num_outputs=2, image_size=IMAGE_SIZE
    ).eval()  # the default architecture of ``galaxy-xai train``


def _run_ours(model, x, batch_size: int):
    from galaxy_xai.explain import attribute

    return attribute(
        model,
        x,
        method="smoothgrad",
        target=TARGET,
        n_samples=N_SAMPLES,
        noise_level=0.15,
        batch_size=batch_size,
        keep_channels=True,
    )


def _run_captum(model, x):
    from captum.attr import NoiseTunnel, Saliency

    return NoiseTunnel(Saliency(model)).attribute(
        x, nt_type="smoothgrad", nt_samples=N_SAMPLES, target=TARGET
    )


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")  # pragma: no cover - not Linux


def _peak_worker(which: str, n: int, batch_size: int, queue) -> None:
    import torch

    torch.set_num_threads(1)
    model = _model()
    x = torch.from_numpy(_images(n))
    _run_ours(model, x[:1], 1) if which == "ours" else _run_captum(model, x[:1])  # warm
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS (VmHWM), Linux
    before = _status_mb("VmRSS")
    if which == "ours":
        _run_ours(model, x, batch_size)
    else:
        _run_captum(model, x)
    queue.put(_status_mb("VmHWM") - before)


def _peak_memory_mb(which: str, n: int, batch_size: int) -> float:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak_worker, args=(which, n, batch_size, queue))
    proc.start()
    value = queue.get(timeout=600)
    proc.join()
    return float(value)


def run(quick: bool) -> dict:
    import torch

    torch.set_num_threads(1)
    n = 4 if quick else 16
    repeats = 2 if quick else 3
    batch_size = 16
    model = _model()
    x = torch.from_numpy(_images(n))

    def best(fn) -> float:
        fn()  # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    t_captum = best(lambda: _run_captum(model, x))
    t_ours = best(lambda: _run_ours(model, x, batch_size))
    return {
        "maps_per_s": n / t_ours,
        "captum_default_maps_per_s": n / t_captum,
        "ratio_vs_captum_default": t_captum / t_ours,
        "peak_memory_mb": _peak_memory_mb("ours", n, batch_size),
        "captum_default_peak_memory_mb": _peak_memory_mb("captum", n, batch_size),
        "n_images": n,
        "n_samples": N_SAMPLES,
        "image_size_px": IMAGE_SIZE,
        "batch_size": batch_size,
        "model": "compact (galaxy_xai.models, 3x64x64)",
    }
