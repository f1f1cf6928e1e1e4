"""Model files that never run code: weights in safetensors, everything else in JSON.

A trained model is a pair of files in one folder::

    model.safetensors   the weights (safetensors: tensors only, no code)
    model.json          format, build spec, head, output names, input shape, config,
                        package version and the sha256 of model.safetensors

The JSON is written last, so its presence marks a finished model; its checksum ties it
to the weights, so a changed or damaged weights file is refused instead of loaded.
Lightning checkpoints (``.ckpt``, for ``--resume``) and ``model.pt`` files of earlier
versions are read with ``torch.load(weights_only=True)``, which refuses every pickled
object that is not a tensor or a plain container, so a crafted file cannot run code
(:data:`SAFE_CHECKPOINT_GLOBALS` lists the only extra types allowed). A ``model.pt``
that the safe reader refuses can be converted, if and only if its owner trusts it, with
``galaxy-xai models convert PATH --trust`` (:func:`convert_legacy_model`).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from galaxy_xai.errors import (
    DataFormatError,
    DataMissingError,
    ModelMismatchError,
    ParameterError,
    UnsafeFileError,
)
from galaxy_xai.io import atomic_output, check_json_fields, read_json

__all__ = [
    "LEGACY_MODEL_NAME",
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "MODEL_INFO_NAME",
    "MODEL_WEIGHTS_NAME",
    "SAFE_CHECKPOINT_GLOBALS",
    "ModelFile",
    "convert_legacy_model",
    "find_model",
    "read_model",
    "safe_torch_load",
    "sha256_file",
    "write_model",
]

MODEL_FORMAT = "galaxy-xai-model"
#: 1: ``model.pt`` (pickled dict, up to 0.1.0); 2: safetensors + JSON.
MODEL_FORMAT_VERSION = 2
MODEL_WEIGHTS_NAME = "model.safetensors"
MODEL_INFO_NAME = "model.json"
LEGACY_MODEL_NAME = "model.pt"
#: Keys every model's JSON must hold (what :func:`galaxy_xai.models.trained.load_model` needs).
REQUIRED_INFO_KEYS = ("build_spec", "head", "task", "output_names", "input_shape", "config")
#: Types of the fields of a model's JSON (checked on every load: model files may come
#: from anyone).
INFO_FIELDS = {
    "format": str, "format_version": int, "build_spec": dict, "head": dict, "task": str,
    "output_names": list[str], "input_shape": list[int], "config": dict,
    "galaxy_xai_version": str, "weights": str, "weights_sha256": str,
    "preprocessing": dict,
}  # fmt: skip
#: Most values of one input image (C x H x W) a model may record: 3 x 4096 x 4096 fits.
MAX_INPUT_VALUES = 2**26
#: A model's JSON is a few kB; anything far larger is not one of ours.
MAX_INFO_BYTES = 64 * 2**20
#: Types besides tensors and plain containers that our checkpoints hold. Today none:
#: galaxy-xai checkpoints store configs as plain dicts, never as objects.
SAFE_CHECKPOINT_GLOBALS: tuple[Any, ...] = ()


@dataclass(frozen=True)
class ModelFile:
    """What a model file holds.

    Attributes
    ----------
    state : dict of str to torch.Tensor
        The network's ``state_dict`` (keys without Lightning's ``model.`` prefix).
    info : dict
        Build spec, head spec, task, output names, input shape, config, version.
    path : Path
        The file the weights were read from.
    run_dir : Path
        The run folder the model belongs to (where ``split.json`` lives).
    finished : bool
        False for a Lightning checkpoint of a run that may not have finished.
    """

    state: dict[str, torch.Tensor]
    info: dict[str, Any]
    path: Path
    run_dir: Path
    finished: bool = True


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pair(path: Path) -> tuple[Path, Path]:
    """``(weights, info)`` paths of a model named by its folder or either file."""
    if path.suffix in (".json", ".safetensors"):
        return path.with_suffix(".safetensors"), path.with_suffix(".json")
    return path / MODEL_WEIGHTS_NAME, path / MODEL_INFO_NAME


def write_model(
    path: str | os.PathLike[str],
    state: Mapping[str, torch.Tensor],
    info: Mapping[str, Any],
) -> Path:
    """Write ``model.safetensors`` then ``model.json`` (each atomically).

    Parameters
    ----------
    path
        A folder (files ``model.safetensors`` and ``model.json`` inside it) or the
        ``.json``/``.safetensors`` path of the pair.
    state
        The ``state_dict`` to store; tensors are copied to contiguous CPU memory.
    info
        JSON-ready description (see :data:`REQUIRED_INFO_KEYS`); ``format``,
        ``format_version``, ``weights`` and ``weights_sha256`` are added.

    Returns
    -------
    Path
        The JSON file.

    Raises
    ------
    ModelMismatchError
        If ``info`` lacks a required key.
    """
    from safetensors.torch import save_file

    missing = [k for k in REQUIRED_INFO_KEYS if k not in info]
    if missing:
        raise ModelMismatchError(f"model description lacks {', '.join(missing)}")
    weights, info_path = _pair(Path(path))
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}
    with atomic_output(weights) as tmp:
        save_file(tensors, str(tmp), metadata={"format": MODEL_FORMAT})
    payload = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        **dict(info),
        "weights": weights.name,
        "weights_sha256": sha256_file(weights),
    }
    with atomic_output(info_path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2) + "\n")
    return info_path


def safe_torch_load(path: str | os.PathLike[str], *, what: str) -> Any:
    """``torch.load`` with ``weights_only=True``: tensors and plain containers only.

    Raises
    ------
    DataMissingError
        If ``path`` does not exist.
    ModelMismatchError
        If the file is empty, truncated, damaged or not a torch file.
    UnsafeFileError
        If it holds pickled objects that a weights-only load refuses (such a file could
        run code: it is never unpickled); a subclass of :class:`ModelMismatchError`.
    """
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(f"{what} '{path}' does not exist")
    if path.stat().st_size == 0:
        raise ModelMismatchError(f"{what} '{path}' is empty (0 bytes)")
    try:
        with torch.serialization.safe_globals(list(SAFE_CHECKPOINT_GLOBALS)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = [line.strip() for line in str(exc).splitlines()]
        refused = [line for line in lines if "GLOBAL" in line or "global" in line.split(" ")[:3]]
        if not refused:
            raise ModelMismatchError(
                f"{what} '{path}' is not a readable torch file (truncated or damaged?)"
            ) from exc
        raise UnsafeFileError(
            f"{what} '{path}' holds pickled objects that a weights-only load refuses, so it "
            f"was not loaded ({refused[0][:160]}); if it is a model.pt of an earlier "
            "galaxy-xai that you trust, convert it: galaxy-xai models convert PATH --trust"
        ) from exc
    except Exception as exc:
        # Damaged bytes make torch's readers fail in many ways (EOFError, zipfile, struct,
        # KeyError from the pre-zip format, safetensors' own error...). None of them can
        # follow code execution: the weights-only unpickler builds no object but tensors.
        raise ModelMismatchError(
            f"{what} '{path}' is not a readable torch file (truncated or damaged?): "
            f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        ) from exc


def _check_info(info: Any, where: Path, *, what: str = "model file") -> dict[str, Any]:
    """A model description's fields checked: present, of the right type, consistent.

    Raises
    ------
    ModelMismatchError
        Naming the file and the first field that is missing, mistyped or impossible
        (an input shape that is not C, H, W > 0; a format version newer than this
        galaxy-xai reads; output names that do not match the head's outputs).
    """
    if not isinstance(info, dict):
        raise ModelMismatchError(f"{what} '{where}' does not describe its model")
    try:
        check_json_fields(info, INFO_FIELDS, where=str(where), required=REQUIRED_INFO_KEYS)
    except DataFormatError as exc:
        raise ModelMismatchError(f"{what} {exc}") from None
    version = info.get("format_version")  # absent or null: a version-1 model.pt
    if version is not None and version > MODEL_FORMAT_VERSION:
        raise ModelMismatchError(
            f"{what} '{where}' has format version {version}; this galaxy-xai reads up to "
            f"{MODEL_FORMAT_VERSION}: upgrade galaxy-xai to load it"
        )
    shape = info["input_shape"]
    if len(shape) != 3 or min(shape) < 1 or shape[0] * shape[1] * shape[2] > MAX_INPUT_VALUES:
        raise ModelMismatchError(
            f"{what} '{where}' field 'input_shape' must be [channels, height, width] > 0 "
            f"with at most {MAX_INPUT_VALUES} values, found {shape}"
        )
    n_outputs = info["head"].get("num_outputs")
    if n_outputs is not None and n_outputs != len(info["output_names"]):
        raise ModelMismatchError(
            f"{what} '{where}' names {len(info['output_names'])} outputs but its head has "
            f"{n_outputs}"
        )
    return info


def _read_info(info_path: Path) -> dict[str, Any]:
    size = info_path.stat().st_size
    if size > MAX_INFO_BYTES:
        raise ModelMismatchError(f"model file '{info_path}' is {size} bytes, not a model's JSON")
    try:
        info = read_json(info_path, what="model file")
    except DataFormatError as exc:
        raise ModelMismatchError(str(exc)) from None
    if info.get("format") != MODEL_FORMAT:
        raise ModelMismatchError(f"'{info_path}' is not a galaxy-xai model file")
    return _check_info(info, info_path)


def _read_pair(weights: Path, info_path: Path) -> ModelFile:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not info_path.is_file():
        raise DataMissingError(
            f"'{weights}' has no '{info_path.name}' beside it: the model was not finished "
            "writing (rerun the job that made it)"
        )
    info = _read_info(info_path)
    if not weights.is_file():
        raise DataMissingError(f"model '{info_path}' has no weights file '{weights.name}'")
    expected = str(info.get("weights_sha256", ""))
    actual = sha256_file(weights)
    if actual != expected:
        raise ModelMismatchError(
            f"weights '{weights}' do not match their checksum in '{info_path.name}' "
            f"(sha256 {actual[:12]}... vs {expected[:12] or 'none'}...): the file was changed "
            "or damaged"
        )
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelMismatchError(
            f"weights '{weights}' are not a readable safetensors file: {exc}"
        ) from exc
    return ModelFile(state=state, info=info, path=weights, run_dir=info_path.parent)


def _from_legacy(blob: Any, path: Path) -> ModelFile:
    if not isinstance(blob, dict) or blob.get("format") != MODEL_FORMAT:
        raise ModelMismatchError(f"'{path}' is not a galaxy-xai model")
    if not isinstance(blob.get("state_dict"), Mapping):
        raise ModelMismatchError(f"model file '{path}' lacks state_dict")
    info = _check_info({k: v for k, v in blob.items() if k != "state_dict"}, path)
    return ModelFile(state=dict(blob["state_dict"]), info=info, path=path, run_dir=path.parent)


def _from_checkpoint(blob: Any, path: Path) -> ModelFile:
    if not isinstance(blob, dict) or "galaxy_xai" not in blob or "state_dict" not in blob:
        raise ModelMismatchError(
            f"'{path}' is not a galaxy-xai checkpoint (no architecture recorded)"
        )
    info = _check_info(blob["galaxy_xai"], path, what="checkpoint")
    state = {k[6:]: v for k, v in blob["state_dict"].items() if k.startswith("model.")}
    run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    return ModelFile(state=state, info=info, path=path, run_dir=run_dir, finished=False)


def find_model(path: str | os.PathLike[str], *, allow_unfinished: bool = False) -> Path:
    """The file to read for a model named by a run folder, a file or ``zoo:NAME``.

    ``zoo:NAME`` gives a shipped or installed model (:mod:`galaxy_xai.models.shipped`),
    its card checked against its weights. A run folder gives its ``model.json`` (or an earlier version's ``model.pt``); its
    ``checkpoints/last.ckpt`` only with ``allow_unfinished``.

    Raises
    ------
    DataMissingError
        If nothing is there, or the run has no finished model and ``allow_unfinished``
        is false, or no zoo model has that name.
    ModelMismatchError
        If a zoo model's card does not match its weights.
    """
    from galaxy_xai.models.shipped import is_zoo_name, zoo_model_dir

    if is_zoo_name(path):
        return zoo_model_dir(str(path)) / MODEL_INFO_NAME
    path = Path(path)
    if not path.is_dir():
        if path.is_file():
            return path
        raise DataMissingError(f"trained model '{path}' does not exist")
    for name in (MODEL_INFO_NAME, LEGACY_MODEL_NAME):
        if (path / name).is_file():
            return path / name
    last = path / "checkpoints" / "last.ckpt"
    if last.is_file():
        if allow_unfinished:
            return last
        raise DataMissingError(
            f"run folder '{path}' holds no finished model ({MODEL_INFO_NAME}), only a "
            "checkpoint of unfinished training: resume it with 'galaxy-xai train --resume', "
            "or pass --allow-unfinished to use checkpoints/last.ckpt"
        )
    if (path / MODEL_WEIGHTS_NAME).is_file():
        raise DataMissingError(
            f"run folder '{path}' has {MODEL_WEIGHTS_NAME} but no {MODEL_INFO_NAME}: the model "
            "was not finished writing"
        )
    raise DataMissingError(
        f"'{path}' holds no trained model ({MODEL_INFO_NAME}, {LEGACY_MODEL_NAME} or "
        "checkpoints/last.ckpt)"
    )


def read_model(path: str | os.PathLike[str], *, allow_unfinished: bool = False) -> ModelFile:
    """Read a model from a run folder, ``model.json``/``.safetensors``, ``model.pt`` or ``.ckpt``.

    Nothing read here is unpickled beyond tensors and plain containers.

    Parameters
    ----------
    path
        Run folder or file.
    allow_unfinished
        Let a run folder without a finished model give its last checkpoint.

    Raises
    ------
    DataMissingError
        If there is no model there (see :func:`find_model`).
    ModelMismatchError
        If the file is not a galaxy-xai model, is damaged, fails its checksum, or would
        need unpickling objects to load.
    """
    file = find_model(path, allow_unfinished=allow_unfinished)
    if file.suffix in (".json", ".safetensors"):
        return _read_pair(*_pair(file))
    blob = safe_torch_load(file, what="model file")
    if isinstance(blob, dict) and "galaxy_xai" in blob:
        return _from_checkpoint(blob, file)
    return _from_legacy(blob, file)


def convert_legacy_model(
    path: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, *, trust: bool
) -> Path:
    """Convert an earlier version's ``model.pt`` into ``model.safetensors`` + ``model.json``.

    A file the weights-only reader accepts is converted without unpickling anything
    else. Only with ``trust=True`` is a file the safe reader refuses loaded with full
    unpickling, which runs whatever code the file holds: use it only on files you made.

    Parameters
    ----------
    path
        The ``model.pt`` (or its run folder).
    out
        Folder (or ``.json`` path) for the converted pair; default beside ``path``.
    trust
        Allow the unsafe load when the safe one refuses the file.

    Returns
    -------
    Path
        The new ``model.json``.

    Raises
    ------
    DataMissingError
        If ``path`` does not exist.
    ParameterError
        If the file needs the unsafe load and ``trust`` is false.
    ModelMismatchError
        If the file is not a galaxy-xai model.
    """
    src = Path(path)
    if src.is_dir():
        src = src / LEGACY_MODEL_NAME
    if not src.is_file():
        raise DataMissingError(f"model file '{src}' does not exist")
    try:
        model = _from_legacy(safe_torch_load(src, what="model file"), src)
    except UnsafeFileError as exc:
        if not trust:
            raise ParameterError(
                "trust", False, f"'{src}' can only be read by unpickling it, which runs any "
                "code it holds; pass --trust only if you made this file yourself",
            ) from exc  # fmt: skip
        # the one full unpickling in the package, reached only with an explicit --trust
        blob = torch.load(src, map_location="cpu", weights_only=not trust)
        model = _from_legacy(blob, src)
    target = Path(out) if out is not None else src.parent
    info = {k: v for k, v in model.info.items() if k not in ("format", "format_version")}
    # an earlier version's extra fields may be objects (paths...): kept as their text
    info = json.loads(json.dumps(info, default=str))
    return write_model(target, model.state, info)
