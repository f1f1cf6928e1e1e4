"""How good is a distilled set? Train fresh networks on it and test them.

Following Cazenavette et al. (2022), ``runs`` networks of the buffer's architecture
are trained from scratch on the distilled images (SGD, momentum 0.9, weight decay
5e-4, the learnt synthetic learning rate, decayed x0.1 at half the epochs, the same
differentiable augmentation) and tested on the held-out test galaxies. Baselines
trained the same way in the same call:

- ``random``: ``ipc`` random real training images per class (new draw per run);
- ``mean``: class-mean images (k-means centres of each class for ``ipc > 1``);
- ``full``: the whole training set.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from galaxy_xai.distill.augment import SiameseAugment
from galaxy_xai.distill.buffer import prepare_images
from galaxy_xai.distill.data import check_ipc, load_labelled
from galaxy_xai.distill.io import DistilledSet, load_distilled
from galaxy_xai.errors import ModelMismatchError, ParameterError
from galaxy_xai.io import write_json
from galaxy_xai.models.convnet import ConvNet
from galaxy_xai.progress import progress

__all__ = ["BASELINES", "EvalConfig", "evaluate_distilled", "test_accuracy", "train_network"]

log = logging.getLogger(__name__)
BASELINES = ("random", "mean", "full")


@dataclass(frozen=True)
class EvalConfig:
    """Settings of the evaluation (defaults of MTT's ``evaluate_synset``)."""

    runs: int = 5  # fresh networks per set (>= 5 for a meaningful std)
    epochs: int = 300  # epochs on the distilled / random / mean sets (MTT: 1000)
    full_epochs: int = 30  # epochs on the full training set
    batch_size: int = 256
    lr: float | None = None  # None: learnt syn_lr (distilled), teacher lr (baselines)
    momentum: float = 0.9
    weight_decay: float = 5e-4
    baselines: tuple[str, ...] = BASELINES
    seed: int = 0
    saliency: str | None = "smoothgrad"  # attribution method on the prototypes; None off
    saliency_samples: int = 25  # SmoothGrad noise samples

    def check(self) -> None:
        """Refuse settings that cannot evaluate.

        Raises
        ------
        ParameterError
            If ``runs``, ``epochs``, ``full_epochs`` or ``batch_size`` is not an integer
            >= 1, a name of ``baselines`` is not one of :data:`BASELINES`, or ``lr`` <= 0.
        """
        for name in ("runs", "epochs", "full_epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(name, value, "must be >= 1")
        unknown = [b for b in self.baselines if b not in BASELINES]
        if unknown:
            raise ParameterError(
                "baselines",
                ",".join(self.baselines),
                f"unknown baseline(s) {unknown}; choose from {', '.join(BASELINES)}",
            )
        if self.lr is not None and not self.lr > 0:
            raise ParameterError("lr", self.lr, "must be > 0")


def train_network(
    images: torch.Tensor,
    labels: torch.Tensor,
    model: torch.nn.Module,
    *,
    epochs: int,
    lr: float,
    batch_size: int = 256,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    augment: SiameseAugment | None = None,
    generator: torch.Generator | None = None,
) -> torch.nn.Module:
    """Train ``model`` in place on ``(images, labels)``; lr x0.1 at half the epochs."""
    optimiser = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
    )
    n = len(images)
    model.train()
    for epoch in range(epochs):
        if epoch == epochs // 2 and epochs > 1:
            for group in optimiser.param_groups:
                group["lr"] = lr * 0.1
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            x = images[idx]
            if augment is not None:
                x = augment(x, generator)
            loss = F.cross_entropy(model(x), labels[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    model.eval()
    return model


def test_accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images`` whose arg-max prediction equals ``labels``."""
    model.eval()
    with torch.no_grad():
        correct = sum(
            int((model(images[i : i + 512]).argmax(1) == labels[i : i + 512]).sum())
            for i in range(0, len(images), 512)
        )
    return correct / max(len(images), 1)


def _class_means(
    x: torch.Tensor, y: torch.Tensor, num_classes: int, ipc: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = [], []
    for c in range(num_classes):
        members = x[y == c]
        if ipc == 1:
            images.append(members.mean(0, keepdim=True))
        else:
            from sklearn.cluster import KMeans

            flat = members.reshape(len(members), -1).double().numpy()
            km = KMeans(n_clusters=ipc, n_init=3, random_state=seed).fit(flat)
            images.append(torch.from_numpy(km.cluster_centers_).float().view(ipc, *x.shape[1:]))
        labels.append(torch.full((ipc,), c, dtype=torch.long))
    return torch.cat(images), torch.cat(labels)


def _random_real(
    x: torch.Tensor, y: torch.Tensor, num_classes: int, ipc: int, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    idx = []
    for c in range(num_classes):
        members = torch.nonzero(y == c).flatten()
        idx.append(members[torch.randperm(len(members), generator=g)[:ipc]])
    chosen = torch.cat(idx)
    return x[chosen], y[chosen]


def _summary(values: list[float]) -> dict[str, Any]:
    arr = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
        "runs": [float(v) for v in arr],
    }


def evaluate_distilled(
    distilled: str | os.PathLike[str] | DistilledSet,
    data_path: str | os.PathLike[str] | None = None,
    *,
    config: EvalConfig | None = None,
    out: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Test accuracy of networks trained on the distilled set and on the baselines.

    Parameters
    ----------
    distilled
        Run folder, ``distilled.pt`` or a loaded :class:`DistilledSet`.
    data_path
        The dataset the buffer was built from (default: the recorded path). Test
        images are the buffer's recorded test ids.
    config
        :class:`EvalConfig`.
    out
        JSON file for the results. Beside it go ``<stem>_prototypes.png`` and, with
        ``config.saliency``, ``<stem>_saliency.png`` / ``.npy`` (maps of the first
        distilled-set network on the prototypes).

    Returns
    -------
    dict
        ``distilled``, and each baseline: ``{"mean", "std", "runs"}`` test accuracy;
        ``chance`` (1 / classes), ``ipc``, ``class_names``, ``n_test``, ``syn_lr``.

    Raises
    ------
    ModelMismatchError
        If the dataset's image shape or classes differ from the distilled set's.
    """
    config = config or EvalConfig()
    config.check()
    dset = distilled if isinstance(distilled, DistilledSet) else load_distilled(distilled)
    meta = dset.meta
    teacher = meta["teacher"]
    data = load_labelled(
        data_path or meta["data"],
        target=teacher["target"],
        class_map=teacher["class_map"],
        split=meta["split"],
    )
    if data.image_shape != dset.image_shape:
        raise ModelMismatchError(
            f"dataset '{data.source}' has images {data.image_shape} (C, H, W) but the distilled "
            f"set has {dset.image_shape}"
        )
    if data.class_names != dset.class_names:
        raise ModelMismatchError(
            f"dataset '{data.source}' has classes {data.class_names}; the distilled set has "
            f"{dset.class_names}"
        )
    data.mean = list(meta["normalisation"]["mean"])
    data.std = list(meta["normalisation"]["std"])
    zca = dset.zca()
    x_train, y_train = prepare_images(data, "train", zca)
    x_test, y_test = prepare_images(data, "test", zca)
    if not len(x_test):
        raise ModelMismatchError(f"dataset '{data.source}' has no test images in the split")
    ipc = dset.ipc
    if "random" in config.baselines:
        check_ipc(ipc, y_train, data.class_names)
    cfg = {k: v for k, v in meta["model"].items() if k != "name"}
    c, k, s = cfg.pop("in_channels"), cfg.pop("num_classes"), cfg.pop("image_size")
    augment = SiameseAugment(meta.get("augment") or teacher["augment"])
    teacher_lr = float(teacher["lr_teacher"])

    def fit(
        images: torch.Tensor, labels: torch.Tensor, lr: float, epochs: int, run: int, tag: int
    ) -> tuple[torch.nn.Module, float]:
        g = torch.Generator().manual_seed(config.seed * 1000003 + run * 101 + tag)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed * 7919 + run)
            model = ConvNet(c, k, s, **cfg)
        train_network(
            images,
            labels,
            model,
            epochs=epochs,
            lr=lr,
            batch_size=config.batch_size,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
            augment=augment,
            generator=g,
        )
        return model, test_accuracy(model, x_test, y_test)

    results: dict[str, Any] = {
        "chance": 1.0 / k,
        "ipc": ipc,
        "class_names": data.class_names,
        "n_test": len(x_test),
        "n_train": len(x_train),
        "syn_lr": dset.syn_lr,
        "method": meta.get("method"),
        "iterations": meta.get("iteration"),
    }
    distilled_lr = config.lr or max(dset.syn_lr, 1e-8)
    accs: dict[str, list[float]] = {"distilled": []}
    first_model = None
    syn_x, syn_y = dset.images.detach(), dset.labels
    for run in progress(range(config.runs), desc="evaluation runs"):
        model, acc = fit(syn_x, syn_y, distilled_lr, config.epochs, run, 0)
        accs["distilled"].append(acc)
        if first_model is None:
            first_model = model
        if "random" in config.baselines:
            g = torch.Generator().manual_seed(config.seed * 31 + run)
            rx, ry = _random_real(x_train, y_train, k, ipc, g)
            accs.setdefault("random", []).append(
                fit(rx, ry, config.lr or teacher_lr, config.epochs, run, 1)[1]
            )
        if "mean" in config.baselines:
            if run == 0:
                mean_x, mean_y = _class_means(x_train, y_train, k, ipc, config.seed)
            accs.setdefault("mean", []).append(
                fit(mean_x, mean_y, config.lr or teacher_lr, config.epochs, run, 2)[1]
            )
        if "full" in config.baselines:
            accs.setdefault("full", []).append(
                fit(x_train, y_train, teacher_lr, config.full_epochs, run, 3)[1]
            )
    for name, values in accs.items():
        results[name] = _summary(values)
    log.info(
        "distilled %.3f +- %.3f (chance %.3f)",
        results["distilled"]["mean"],
        results["distilled"]["std"],
        results["chance"],
    )
    if out is not None:
        out = Path(out)
        from galaxy_xai.distill.figures import prototype_grid

        results["prototypes_png"] = str(
            prototype_grid(dset, out.with_name(f"{out.stem}_prototypes.png"))
        )
        if config.saliency and first_model is not None:
            results.update(_saliency_outputs(first_model, dset, out, config))
        write_json(out, results)
    return results


def _saliency_outputs(
    model: torch.nn.Module, dset: DistilledSet, out: Path, config: EvalConfig
) -> dict[str, Any]:
    from galaxy_xai.distill.figures import prototype_saliency, saliency_grid
    from galaxy_xai.io import atomic_output

    try:
        maps = prototype_saliency(
            model,
            dset,
            method=config.saliency or "smoothgrad",
            n_samples=config.saliency_samples,
        )
    except ImportError as exc:
        log.warning("saliency maps skipped: the explain module is unavailable (%s)", exc)
        return {"saliency": None}
    npy = out.with_name(f"{out.stem}_saliency.npy")
    with atomic_output(npy) as tmp, open(tmp, "wb") as fh:
        np.save(fh, maps.astype(np.float32))
    png = saliency_grid(
        dset,
        maps,
        out.with_name(f"{out.stem}_saliency.png"),
        method=config.saliency or "smoothgrad",
    )
    return {"saliency": {"method": config.saliency, "npy": str(npy), "png": str(png)}}
