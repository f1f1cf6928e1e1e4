"""Expert trajectories: ConvNets trained on the real images, parameters kept per epoch.

``train_experts`` writes a buffer folder::

    buffer/
      manifest.json        architecture, image shape, classes, normalisation, ZCA,
                           teacher settings, parameter names/shapes, data source
      split.json           ids per part (train/val/test); test ids never used here
      zca.pt               the ZCA transform (only with zca=True)
      expert_000.h5        one expert: "params" (E+1, P) float32, row e = the flat
                           parameter vector after e epochs (row 0 = initialisation),
                           "val_accuracy" (E+1,), "train_loss" (E+1,)
      expert_001.h5.partial  an expert still being trained (resumed row by row)

An interrupted run resumes with the next unfinished epoch of the next unfinished
expert: each epoch's data order and augmentation are seeded by
``(seed, expert, epoch)``, and the teacher is plain SGD (no momentum, as in MTT), so
the parameters of the last finished epoch are the whole training state.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from galaxy_xai.config import load_config
from galaxy_xai.data.splits import read_split_parts
from galaxy_xai.distill.augment import DEFAULT_STRATEGY, SiameseAugment
from galaxy_xai.distill.data import DEFAULT_FRACTIONS, LabelledImages, load_labelled
from galaxy_xai.distill.zca import ZCA
from galaxy_xai.errors import (
    ConfigError,
    DataFormatError,
    DataMissingError,
    ModelMismatchError,
    ParameterError,
)
from galaxy_xai.io import OutputLock, check_json_fields, partial_path, read_json, write_json
from galaxy_xai.models.convnet import ConvNet
from galaxy_xai.progress import progress

__all__ = [
    "BUFFER_FORMAT",
    "BufferConfig",
    "ExpertBuffer",
    "flat_parameters",
    "load_buffer",
    "parameter_layout",
    "prepare_images",
    "train_experts",
    "unflatten",
]

log = logging.getLogger(__name__)
BUFFER_FORMAT = "galaxy-xai-expert-buffer"
BUFFER_VERSION = 1


@dataclass(frozen=True)
class BufferConfig:
    """Settings of the expert trajectories (defaults of Cazenavette et al. 2022)."""

    experts: int = 10  # independent teachers; MTT uses 100, 10-20 suffice for small sets
    epochs: int = 50  # epochs per teacher; the run matches inside this range
    lr_teacher: float = 0.01  # SGD learning rate of the teachers (and of evaluation)
    batch_size: int = 256  # teacher minibatch
    weight_decay: float = 0.0  # MTT teachers use none
    augment: str = DEFAULT_STRATEGY  # DSA operations on the real batches ("none" off)
    zca: bool = False  # ZCA-whiten images (fitted on the training part)
    zca_eps: float = 0.1  # ZCA regularisation (kornia / MTT default)
    seed: int = 0  # expert i starts from seed (seed, i)
    target: str = "label"  # integer class column
    class_map: str | None = None  # see distill.data.parse_class_map
    split_seed: int = 0  # seed of the id-hash split
    fractions: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FRACTIONS))
    width: int = 128  # ConvNet filters per layer
    depth: int = 3  # ConvNet blocks (3 for 32 px, 2 for 8-16 px images)
    norm: str = "instancenorm"

    def check(self) -> None:
        """Refuse settings that cannot train.

        Raises
        ------
        ParameterError
            If ``experts``, ``epochs``, ``batch_size``, ``width`` or ``depth`` is not an
            integer >= 1, or ``lr_teacher`` <= 0.
        """
        for name in ("experts", "epochs", "batch_size", "width", "depth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(name, value, "must be >= 1")
        if not self.lr_teacher > 0:
            raise ParameterError("lr_teacher", self.lr_teacher, "must be > 0")


# ----------------------------------------------------------------- flat parameters
def parameter_layout(model: torch.nn.Module) -> tuple[list[str], list[list[int]]]:
    """Names and shapes of ``model``'s parameters, in the flat-vector order."""
    names, shapes = [], []
    for name, p in model.named_parameters():
        names.append(name)
        shapes.append(list(p.shape))
    return names, shapes


def flat_parameters(model: torch.nn.Module) -> torch.Tensor:
    """All parameters of ``model`` concatenated into one detached ``(P,)`` vector."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def unflatten(
    flat: torch.Tensor, names: list[str], shapes: list[list[int]]
) -> dict[str, torch.Tensor]:
    """Split a flat ``(P,)`` vector into ``{name: tensor}`` (views, differentiable).

    Raises
    ------
    ModelMismatchError
        If ``flat`` holds more or fewer values than ``shapes`` need together.
    """
    out, start = {}, 0
    for name, shape in zip(names, shapes, strict=True):
        n = int(np.prod(shape)) if shape else 1
        out[name] = flat[start : start + n].view(shape)
        start += n
    if start != flat.numel():
        raise ModelMismatchError(
            f"flat parameter vector has {flat.numel()} values; the model needs {start}"
        )
    return out


# ----------------------------------------------------------------- images
def prepare_images(
    data: LabelledImages, part: str, zca: ZCA | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised (and whitened) images and labels of one split part."""
    x, y = data.part(part)
    if zca is not None and len(x):
        x = zca.apply(x)
    return x, y


def _generator(*seeds: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(np.random.SeedSequence(list(seeds)).generate_state(1)[0]))
    return g


def _accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    if not len(x):
        return float("nan")
    model.eval()
    with torch.no_grad():
        correct = sum(
            int((model(x[i : i + 512]).argmax(1) == y[i : i + 512]).sum())
            for i in range(0, len(x), 512)
        )
    model.train()
    return correct / len(x)


# ----------------------------------------------------------------- training
def _manifest(config: BufferConfig, data: LabelledImages, model: ConvNet) -> dict[str, Any]:
    names, shapes = parameter_layout(model)
    return {
        "format": BUFFER_FORMAT,
        "format_version": BUFFER_VERSION,
        "model": {"name": "convnet", **model.config},
        "image_shape": list(data.image_shape),
        "num_classes": data.num_classes,
        "class_names": data.class_names,
        "num_params": int(sum(int(np.prod(s)) for s in shapes)),
        "param_names": names,
        "param_shapes": shapes,
        "normalisation": {"mean": data.mean, "std": data.std},
        "zca": "zca.pt" if config.zca else None,
        "data": {"path": data.source, "n_train": len(data.parts["train"])},
        "teacher": asdict(config),
    }


_MUST_MATCH = ("model", "image_shape", "class_names", "num_params", "zca")
# Types of the manifest's fields (a buffer folder may come from someone else).
_MANIFEST_FIELDS = {
    "format": str, "format_version": int, "model": dict, "image_shape": list[int],
    "num_classes": int, "class_names": list[str], "num_params": int,
    "param_names": list[str], "param_shapes": list[list[int]], "normalisation": dict,
    "zca": str, "data": dict, "teacher": dict,
}  # fmt: skip
_NORMALISATION_FIELDS = {"mean": list[float], "std": list[float]}


def read_manifest(path: Path) -> dict[str, Any]:
    """A buffer's ``manifest.json``, its fields' types checked.

    Raises
    ------
    DataMissingError, DataFormatError
        If it is missing, not UTF-8 JSON, or a field is missing or of the wrong type
        (including the teacher settings, checked as a :class:`BufferConfig`).
    ModelMismatchError
        If it is not a galaxy-xai expert buffer manifest.
    """
    manifest = read_json(path, what="buffer manifest", fields=_MANIFEST_FIELDS)
    if manifest.get("format") != BUFFER_FORMAT:
        raise ModelMismatchError(
            f"'{path}' is not a galaxy-xai expert buffer manifest "
            "(no galaxy-xai buffer format recorded)"
        )
    required = tuple(k for k in _MANIFEST_FIELDS if k not in ("zca", "format_version"))
    check_json_fields(manifest, _MANIFEST_FIELDS, where=str(path), required=required)
    check_json_fields(
        manifest["normalisation"], _NORMALISATION_FIELDS, where=f"{path} normalisation",
        required=("mean", "std"),
    )  # fmt: skip
    try:
        teacher = load_config(BufferConfig, manifest["teacher"])
        teacher.check()
    except (ConfigError, ParameterError) as exc:
        raise DataFormatError(f"buffer manifest '{path}' teacher settings: {exc}") from None
    # every setting is recorded by the writer: a default would misdescribe the experts
    missing = [f.name for f in fields(BufferConfig) if f.name not in manifest["teacher"]]
    if missing:
        raise DataFormatError(
            f"buffer manifest '{path}' teacher settings lack {', '.join(missing)}"
        )
    manifest["teacher"] = asdict(teacher)
    return manifest


def train_experts(
    data_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: BufferConfig | None = None,
) -> ExpertBuffer:
    """Train ``config.experts`` ConvNets and save their parameters after every epoch.

    Parameters
    ----------
    data_path
        Labelled dataset file.
    out
        Buffer folder (created). If it already holds a buffer with the same settings,
        finished experts are kept and training resumes where it stopped; more
        experts than before may be requested.
    config
        :class:`BufferConfig`.

    Returns
    -------
    ExpertBuffer

    Raises
    ------
    ModelMismatchError
        If ``out`` holds a buffer made with another architecture, data or settings.
    ParameterError
        If a setting of ``config`` is out of range (see :meth:`BufferConfig.check`), or
        the images of ``data_path`` are not square.
    """
    config = config or BufferConfig()
    config.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_labelled(
        data_path,
        target=config.target,
        class_map=config.class_map,
        split_seed=config.split_seed,
        fractions=config.fractions,
    )
    c, h, w = data.image_shape
    if h != w:
        raise ParameterError("data_path", str(data_path), f"images must be square, found {h}x{w}")
    model_kwargs: dict[str, Any] = {
        "width": config.width,
        "depth": config.depth,
        "norm": config.norm,
    }
    probe = ConvNet(c, data.num_classes, h, **model_kwargs)
    manifest = _manifest(config, data, probe)
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        old = read_manifest(manifest_path)
        keys = (*_MUST_MATCH, "normalisation")
        old_teacher = {k: v for k, v in old.get("teacher", {}).items() if k != "experts"}
        new_teacher = {k: v for k, v in manifest["teacher"].items() if k != "experts"}
        diff = [k for k in keys if old.get(k) != manifest[k]]
        diff += [f"teacher.{k}" for k in new_teacher if old_teacher.get(k) != new_teacher[k]]
        if diff:
            raise ModelMismatchError(
                f"buffer '{out}' was built with other settings ({', '.join(diff)}); "
                "use a new --out folder or the original settings"
            )
    write_json(out / "split.json", data.split_record())
    zca = None
    x_train, y_train = data.part("train")
    if config.zca:
        zca_path = out / "zca.pt"
        if zca_path.exists():
            zca = ZCA.load(zca_path)
        else:
            zca = ZCA.fit(x_train, eps=config.zca_eps)
            zca.save(zca_path)
        x_train = zca.apply(x_train)
    x_val, y_val = prepare_images(data, "val", zca)
    write_json(manifest_path, manifest)
    augment = SiameseAugment(config.augment)
    for expert in progress(range(config.experts), desc="experts"):
        final = out / f"expert_{expert:03d}.h5"
        if final.exists():
            continue
        with OutputLock(final):  # a second process on the same buffer stops here
            _train_one(
                final, expert, config, model_kwargs, data, augment, (x_train, y_train),
                (x_val, y_val),
            )  # fmt: skip
    return load_buffer(out)


def _train_one(
    final: Path,
    expert: int,
    config: BufferConfig,
    model_kwargs: dict[str, Any],
    data: LabelledImages,
    augment: SiameseAugment,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
) -> None:
    x_train, y_train = train
    c, h, _ = data.image_shape
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(np.random.SeedSequence([config.seed, expert]).generate_state(1)[0]))
        model = ConvNet(c, data.num_classes, h, **model_kwargs)
    n_params = sum(p.numel() for p in model.parameters())
    tmp = partial_path(final)
    start_epoch = 0
    if tmp.exists():
        try:
            with h5py.File(tmp, "r") as h5:
                done = int(h5.attrs["epochs_done"])
                ok = h5["params"].shape == (config.epochs + 1, n_params)
                row = h5["params"][done] if ok else None
        except (OSError, KeyError):
            ok = False
        if ok and row is not None:
            torch.nn.utils.vector_to_parameters(torch.from_numpy(row), model.parameters())
            start_epoch = done
            log.info("expert %d: resuming after epoch %d", expert, done)
        else:
            tmp.unlink()
    if start_epoch == 0 and not tmp.exists():
        with h5py.File(tmp, "w") as h5:
            h5.create_dataset(
                "params", shape=(config.epochs + 1, n_params), dtype="f4", chunks=(1, n_params)
            )
            h5.create_dataset("val_accuracy", shape=(config.epochs + 1,), dtype="f8")
            h5.create_dataset("train_loss", shape=(config.epochs + 1,), dtype="f8")
            h5["params"][0] = flat_parameters(model).numpy()
            h5["val_accuracy"][0] = _accuracy(model, *val)
            h5["train_loss"][0] = float("nan")
            h5.attrs["epochs_done"] = 0
            h5.attrs["expert"] = expert
            h5.attrs["seed"] = config.seed
    optimiser = torch.optim.SGD(
        model.parameters(), lr=config.lr_teacher, momentum=0.0, weight_decay=config.weight_decay
    )
    n = len(x_train)
    for epoch in range(start_epoch, config.epochs):
        g = _generator(config.seed, expert, epoch)
        order = torch.randperm(n, generator=g)
        total = 0.0
        model.train()
        for i in range(0, n, config.batch_size):
            idx = order[i : i + config.batch_size]
            x = augment(x_train[idx], g)
            loss = F.cross_entropy(model(x), y_train[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(idx)
        flat = flat_parameters(model)
        if not torch.isfinite(flat).all():
            raise ParameterError(
                "lr_teacher",
                config.lr_teacher,
                f"expert {expert} diverged (non-finite parameters) in epoch {epoch + 1}; "
                "lower the teacher learning rate",
            )
        with h5py.File(tmp, "a") as h5:
            h5["params"][epoch + 1] = flat.numpy()
            h5["val_accuracy"][epoch + 1] = _accuracy(model, *val)
            h5["train_loss"][epoch + 1] = total / n
            h5.attrs["epochs_done"] = epoch + 1
    with h5py.File(tmp, "r") as h5:
        acc = float(h5["val_accuracy"][-1])
    os.replace(tmp, final)
    log.info("expert %d: done, validation accuracy %.3f", expert, acc)


# ----------------------------------------------------------------- reading
class ExpertBuffer:
    """A finished buffer folder: manifest, split and expert trajectories (read lazily).

    Attributes
    ----------
    path : Path
    manifest : dict
    expert_files : list of Path
        The finished experts.

    Raises
    ------
    DataMissingError
        If ``path`` has no ``manifest.json`` (not a buffer) or holds no finished expert.
    DataFormatError
        If the manifest's model cannot be built, it names a ZCA file outside the
        buffer folder, or an expert file cannot be read.
    ModelMismatchError
        If the manifest's model has another parameter count than it records, or an
        expert holds another number of parameters per epoch.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        manifest_path = self.path / "manifest.json"
        if not manifest_path.is_file():
            raise DataMissingError(
                f"'{self.path}' is not an expert buffer (no manifest.json); "
                "create one with 'galaxy-xai distill buffer'"
            )
        self.manifest = read_manifest(manifest_path)
        try:
            n_params = sum(p.numel() for p in self.build_model().parameters())
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFormatError(
                f"buffer manifest '{manifest_path}' model {self.manifest['model']} cannot be "
                f"built: {exc}"
            ) from None
        if n_params != self.num_params:
            raise ModelMismatchError(
                f"buffer manifest '{manifest_path}': its model has {n_params} parameters, "
                f"not the {self.num_params} it records"
            )
        self.expert_files = sorted(self.path.glob("expert_*.h5"))
        if not self.expert_files:
            raise DataMissingError(
                f"buffer '{self.path}' holds no finished expert; rerun 'galaxy-xai distill "
                "buffer' with the same options to finish it"
            )
        zca = self.manifest.get("zca")
        if zca is not None and (not isinstance(zca, str) or Path(zca).name != zca):
            raise DataFormatError(
                f"buffer manifest '{manifest_path}' names ZCA file {zca!r}; it must be a file "
                "name inside the buffer folder"
            )
        for f in self.expert_files:
            try:
                with h5py.File(f, "r") as h5:
                    shape = h5["params"].shape
            except (OSError, KeyError) as exc:
                raise DataFormatError(
                    f"expert file '{f}' is not a readable expert trajectory (truncated or "
                    f"damaged?): {exc}; delete it and rerun 'galaxy-xai distill buffer'"
                ) from exc
            if shape[1] != self.num_params:
                raise ModelMismatchError(
                    f"expert '{f}' has {shape[1]} parameters per epoch but the manifest's "
                    f"{self.manifest['model']} needs {self.num_params}"
                )

    # description ------------------------------------------------------------------
    @property
    def num_params(self) -> int:
        return int(self.manifest["num_params"])

    @property
    def epochs(self) -> int:
        """Epochs per expert (trajectory length minus one)."""
        return int(self.manifest["teacher"]["epochs"])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.manifest["image_shape"])  # type: ignore[return-value]

    @property
    def class_names(self) -> list[str]:
        return list(self.manifest["class_names"])

    @property
    def zca(self) -> ZCA | None:
        name = self.manifest.get("zca")
        return ZCA.load(self.path / name) if name else None

    def split(self) -> dict[str, list[str]]:
        return read_split_parts(self.path / "split.json")

    def build_model(self) -> ConvNet:
        """A fresh ConvNet of the buffer's architecture."""
        cfg = {k: v for k, v in self.manifest["model"].items() if k != "name"}
        c, n, s = cfg.pop("in_channels"), cfg.pop("num_classes"), cfg.pop("image_size")
        return ConvNet(c, n, s, **cfg)

    def layout(self) -> tuple[list[str], list[list[int]]]:
        return list(self.manifest["param_names"]), [list(s) for s in self.manifest["param_shapes"]]

    def load_data(self, data_path: str | os.PathLike[str] | None = None) -> LabelledImages:
        """The buffer's labelled images with its recorded split (optionally from a copy)."""
        teacher = self.manifest["teacher"]
        path = data_path or self.manifest["data"]["path"]
        data = load_labelled(
            path, target=teacher["target"], class_map=teacher["class_map"], split=self.split()
        )
        self.check_compatible(image_shape=data.image_shape, class_names=data.class_names)
        data.mean = list(self.manifest["normalisation"]["mean"])
        data.std = list(self.manifest["normalisation"]["std"])
        return data

    def check_compatible(
        self,
        *,
        model: dict[str, Any] | None = None,
        image_shape: tuple[int, ...] | None = None,
        class_names: list[str] | None = None,
    ) -> None:
        """Raise unless the buffer fits the given architecture, image shape and classes.

        Raises
        ------
        ModelMismatchError
            Naming what differs.
        """
        if model is not None:
            mine = {k: v for k, v in self.manifest["model"].items() if k != "name"}
            theirs = {k: v for k, v in model.items() if k != "name"}
            if mine != theirs:
                diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
                raise ModelMismatchError(
                    f"buffer '{self.path}' holds experts of another architecture: "
                    + ", ".join(f"{k} {mine.get(k)!r} != {theirs.get(k)!r}" for k in diff)
                )
        if image_shape is not None and tuple(image_shape) != self.image_shape:
            raise ModelMismatchError(
                f"buffer '{self.path}' was trained on images {self.image_shape} (C, H, W); "
                f"got {tuple(image_shape)}"
            )
        if class_names is not None and list(class_names) != self.class_names:
            raise ModelMismatchError(
                f"buffer '{self.path}' has classes {self.class_names}; got {list(class_names)}"
            )

    # trajectories -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.expert_files)

    def params(self, expert: int, epoch: int) -> torch.Tensor:
        """Flat ``(P,)`` parameters of ``expert`` after ``epoch`` epochs (0 = init).

        Raises
        ------
        ParameterError
            If ``epoch`` is not in ``0..epochs``.
        """
        if not 0 <= epoch <= self.epochs:
            raise ParameterError("epoch", epoch, f"must lie in 0..{self.epochs}")
        with h5py.File(self.expert_files[expert], "r") as h5:
            return torch.from_numpy(np.asarray(h5["params"][epoch], dtype=np.float32))

    def validation_accuracy(self) -> np.ndarray:
        """``(experts, epochs + 1)`` validation accuracy of every expert."""
        rows = []
        for f in self.expert_files:
            with h5py.File(f, "r") as h5:
                rows.append(np.asarray(h5["val_accuracy"][:]))
        return np.stack(rows)


def load_buffer(path: str | os.PathLike[str]) -> ExpertBuffer:
    """Open a buffer folder written by :func:`train_experts`."""
    return ExpertBuffer(path)
