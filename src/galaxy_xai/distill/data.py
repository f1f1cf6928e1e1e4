"""Labelled images for distillation: class maps, fixed splits, normalisation.

Distillation works on a small labelled set held in memory: a dataset file (see
:mod:`galaxy_xai.data.store`) whose integer ``target`` column is remapped through an
optional class map (merge or drop labels), split once by id hash into
train/val/test, and normalised per channel with the training set's mean and
standard deviation. Test images never enter expert buffers or distillation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from galaxy_xai.data.readers.gz1 import GZ1_MORPHOLOGY_MAP
from galaxy_xai.data.splits import split_indices
from galaxy_xai.data.store import open_dataset
from galaxy_xai.errors import DataFormatError, ParameterError

__all__ = [
    "CLASS_MAP_PRESETS",
    "DEFAULT_FRACTIONS",
    "LabelledImages",
    "check_ipc",
    "load_labelled",
    "parse_class_map",
]

# Galaxy Zoo 1 leaf classes -> the 4 classes of the classification benchmark
# ("don't know", label 4, dropped; clockwise and anticlockwise spirals merged).
CLASS_MAP_PRESETS: dict[str, dict[int, str]] = {
    "gz1-4": {k: v for k, v in GZ1_MORPHOLOGY_MAP.items() if v is not None},
}
# Train / validation / test fractions of the fixed, stratified id-hash split.
DEFAULT_FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}


def parse_class_map(
    spec: str | Mapping[Any, str] | None, label_names: list[str] | None = None
) -> dict[int, str] | None:
    """Parse a class map: old label -> new class name; labels not listed are dropped.

    Parameters
    ----------
    spec
        None (keep every label), a preset name (``"gz1-4"``), a mapping, a path to a
        JSON/YAML mapping, or text ``"0:elliptical,1:spiral,2:spiral,3:edge-on"``.
        Keys are integer labels or the dataset's label names; several old labels
        mapped to one name are merged. New class indices follow the order in which
        the new names first appear.
    label_names
        The dataset's class names, to resolve keys given by name.

    Raises
    ------
    ParameterError
        If the text cannot be parsed or a key is neither an integer nor a label name.
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec in CLASS_MAP_PRESETS:
            return dict(CLASS_MAP_PRESETS[spec])
        path = Path(spec)
        if path.suffix in (".json", ".yaml", ".yml", ".toml") and path.is_file():
            from galaxy_xai.config import read_config_file
            from galaxy_xai.io import read_json

            raw: Mapping[Any, Any] = (
                read_json(path, what="class map")
                if path.suffix == ".json"
                else read_config_file(path)
            )
        else:
            raw = {}
            for item in filter(None, (p.strip() for p in spec.split(","))):
                if ":" not in item:
                    raise ParameterError(
                        "class_map",
                        spec,
                        f"item {item!r} is not 'old:new' (e.g. '0:elliptical,1:spiral'); "
                        f"presets: {', '.join(CLASS_MAP_PRESETS)}",
                    )
                old, new = item.split(":", 1)
                raw[old.strip()] = new.strip()
    else:
        raw = spec
    if not raw:
        raise ParameterError("class_map", spec, "maps no label")
    out: dict[int, str] = {}
    for key, new in raw.items():
        text = str(key)
        if text.lstrip("-").isdigit():
            label = int(text)
        elif label_names and text in label_names:
            label = label_names.index(text)
        else:
            raise ParameterError(
                "class_map",
                spec,
                f"key {text!r} is neither an integer label nor a label name "
                f"(names: {label_names or 'none recorded'})",
            )
        out[label] = str(new)
    return out


@dataclass
class LabelledImages:
    """Images (raw pixel values), labels after the class map, and the fixed split.

    Attributes
    ----------
    images : torch.Tensor
        ``(N, C, H, W)`` float32, as stored (not normalised).
    labels : torch.Tensor
        ``(N,)`` int64 class indices into ``class_names``.
    ids : list of str
    class_names : list of str
    parts : dict
        ``"train"``/``"val"``/``"test"`` -> row indices into ``images``.
    source : str
        The dataset file.
    """

    images: torch.Tensor
    labels: torch.Tensor
    ids: list[str]
    class_names: list[str]
    parts: dict[str, np.ndarray]
    source: str
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def part(self, name: str, *, normalised: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Images ``(n, C, H, W)`` and labels ``(n,)`` of one split part."""
        idx = torch.as_tensor(self.parts[name], dtype=torch.long)
        x = self.images[idx]
        return (self.normalise(x) if normalised else x), self.labels[idx]

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Subtract the training mean and divide by the training std, per channel."""
        mean = torch.tensor(self.mean, dtype=x.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype).view(1, -1, 1, 1)
        return (x - mean) / std

    def split_record(self) -> dict[str, list[str]]:
        """Ids per part, for ``split.json``."""
        return {k: [self.ids[i] for i in v] for k, v in self.parts.items()}


def load_labelled(
    path: str | os.PathLike[str],
    *,
    target: str = "label",
    class_map: str | Mapping[Any, str] | None = None,
    split_seed: int = 0,
    fractions: Mapping[str, float] | None = None,
    split: Mapping[str, list[str]] | None = None,
) -> LabelledImages:
    """Read a dataset file into memory with remapped labels and a fixed split.

    Parameters
    ----------
    path
        Dataset file written by ``galaxy-xai data import`` / ``simulate`` or
        :func:`galaxy_xai.data.store.write_dataset`.
    target
        Integer catalogue column holding the class index.
    class_map
        See :func:`parse_class_map`; rows whose label is not mapped are dropped.
    split_seed, fractions
        Seed and train/val/test fractions of :func:`galaxy_xai.data.split_indices`
        (stratified by the remapped label).
    split
        Ids per part from an earlier run (``split.json``); overrides seed/fractions,
        so evaluation uses exactly the buffer's test galaxies.

    Raises
    ------
    DataFormatError
        If the target column is missing or not integer, or a class has no training
        image (an empty class).
    """
    with open_dataset(path) as ds:
        catalog = ds.catalog
        label_names = ds.label_names
        if target not in catalog.columns:
            raise DataFormatError(
                f"dataset '{path}' has no column {target!r} (found: {', '.join(catalog.columns)})"
            )
        raw = catalog[target].to_numpy()
        if not np.issubdtype(raw.dtype, np.integer):
            raise DataFormatError(
                f"dataset '{path}': column {target!r} must hold integer class indices, "
                f"found dtype {raw.dtype}"
            )
        mapping = parse_class_map(class_map, label_names)
        if mapping is None:
            present = sorted(int(v) for v in np.unique(raw))
            n_classes = max(present) + 1 if present else 0
            names = [
                label_names[i] if label_names and i < len(label_names) else str(i)
                for i in range(n_classes)
            ]
            mapping = {i: names[i] for i in range(n_classes)}
        class_names: list[str] = []
        for name in mapping.values():
            if name not in class_names:
                class_names.append(name)
        new_index = {old: class_names.index(name) for old, name in mapping.items()}
        keep = np.flatnonzero([int(v) in new_index for v in raw])
        labels = np.array([new_index[int(raw[i])] for i in keep], dtype=np.int64)
        ids = catalog["id"].astype(str).to_numpy()[keep].tolist()
        images = torch.from_numpy(np.ascontiguousarray(ds.images[keep])) if len(keep) else None
        shape = ds.image_shape
    if images is None:
        images = torch.zeros((0, *shape))
    if split is not None:
        where = {ident: i for i, ident in enumerate(ids)}
        parts = {}
        for name, part_ids in split.items():
            missing = [ident for ident in part_ids if ident not in where]
            if missing:
                raise DataFormatError(
                    f"dataset '{path}' lacks {len(missing)} id(s) of the recorded "
                    f"{name!r} split (first: {missing[:3]}); use the dataset the buffer was "
                    "built from"
                )
            parts[name] = np.array(sorted(where[i] for i in part_ids), dtype=np.int64)
    else:
        parts = split_indices(
            ids, dict(fractions or DEFAULT_FRACTIONS), seed=split_seed, stratify=labels
        )
    counts = np.bincount(labels[parts["train"]], minlength=len(class_names))
    empty = [class_names[c] for c in range(len(class_names)) if counts[c] == 0]
    if empty:
        raise DataFormatError(
            f"dataset '{path}': class(es) {empty} have no training images "
            f"(training counts: {dict(zip(class_names, counts.tolist(), strict=True))}); "
            "drop them with --class-map"
        )
    train = images[torch.as_tensor(parts["train"])]
    mean = train.mean(dim=(0, 2, 3))
    std = train.std(dim=(0, 2, 3)).clamp_min(1e-6)
    return LabelledImages(
        images=images.float(),
        labels=torch.from_numpy(labels),
        ids=ids,
        class_names=class_names,
        parts=parts,
        source=str(Path(path).resolve()),
        mean=mean.tolist(),
        std=std.tolist(),
    )


def check_ipc(ipc: int, labels: torch.Tensor, class_names: list[str]) -> None:
    """Raise unless every class has at least ``ipc`` training images.

    Raises
    ------
    ParameterError
        Naming the smallest class and its count.
    """
    if isinstance(ipc, bool) or not isinstance(ipc, int) or ipc < 1:
        raise ParameterError("ipc", ipc, "must be a positive integer")
    counts = torch.bincount(labels, minlength=len(class_names)).tolist()
    smallest = int(np.argmin(counts))
    if counts[smallest] < ipc:
        raise ParameterError(
            "ipc",
            ipc,
            f"class {class_names[smallest]!r} has only {counts[smallest]} training "
            f"image(s); use --ipc <= {counts[smallest]}",
        )
