"""Where named models live: shipped in the package, or installed by the user.

A named model is a folder ``NAME/`` holding::

    model.safetensors   the weights
    model.json          the model file (see :mod:`galaxy_xai.models.files`)
    card.json           the model card: what it is, how it was trained, how well it does
    split.json          (optional) the ids of its training, validation and test galaxies

Shipped models are package data (``galaxy_xai/models/zoo/NAME``); installed ones live
in the user model folder, ``GALAXY_XAI_MODELS`` (default ``~/.cache/galaxy-xai/models``,
under ``XDG_CACHE_HOME`` where that is set). A user's model of the same name as a
shipped one is refused at install time, so a name always means one model.

Everywhere a trained model is accepted, ``zoo:NAME`` names one of these. The card's
``weights_sha256`` must match both the weights file and ``model.json``: a card that does
not describe its weights is an error, not a warning.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from galaxy_xai.errors import DataFormatError, DataMissingError, ModelMismatchError
from galaxy_xai.io import check_json_fields, read_json

__all__ = [
    "CARD_FIELDS",
    "CARD_NAME",
    "ZOO_PREFIX",
    "check_card_matches_model",
    "check_model_folder",
    "is_zoo_name",
    "model_names",
    "read_card",
    "shipped_dir",
    "user_models_dir",
    "zoo_model_dir",
]

#: Prefix that turns a model argument into a named model: ``--model zoo:bar-sdss``.
ZOO_PREFIX = "zoo:"
CARD_NAME = "card.json"
#: Names are lower-case words joined by dashes (they become folder names).
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")  # always used with fullmatch
#: A card is a few kB; anything far larger is not one.
MAX_CARD_BYTES = 16 * 2**20
#: Card fields that must say what model.json says (a card must describe its model).
MATCHED_FIELDS = ("task", "output_names", "input_shape")
#: Types of a card's fields (checked on every read: installed cards come from anyone).
CARD_FIELDS = {
    "name": str, "version": str, "task": str, "summary": str, "output_names": list[str],
    "input_shape": list[int], "preprocessing": dict, "architecture": dict,
    "recipe": dict, "data": list[dict], "test_metrics": dict, "training": dict,
    "weights_sha256": str, "weights_dtype": str, "galaxy_xai_version": str,
    "licence": str, "citation": list[str], "notes": list[str],
}  # fmt: skip
#: Fields a card must have (the rest are optional: an installed card may be terse).
REQUIRED_CARD_FIELDS = ("name", "version", "task", "summary", "weights_sha256")


def shipped_dir() -> Path:
    """The folder of the models that ship inside the package."""
    return Path(__file__).resolve().parent / "zoo"


def user_models_dir() -> Path:
    """The user model folder: ``GALAXY_XAI_MODELS``, else ``<cache>/galaxy-xai/models``."""
    env = os.environ.get("GALAXY_XAI_MODELS")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "galaxy-xai" / "models"


def is_zoo_name(value: str | os.PathLike[str]) -> bool:
    """True if ``value`` names a model by ``zoo:NAME`` rather than by a path."""
    return isinstance(value, str) and value.startswith(ZOO_PREFIX)


def _folders() -> list[Path]:
    return [shipped_dir(), user_models_dir()]


def model_names() -> dict[str, Path]:
    """Every named model, shipped first, as ``{name: folder}`` (sorted by name)."""
    found: dict[str, Path] = {}
    for root in _folders():
        if not root.is_dir():
            continue
        for child in sorted(root.iterdir()):
            if NAME_PATTERN.fullmatch(child.name) and (child / CARD_NAME).is_file():
                found.setdefault(child.name, child)
    return dict(sorted(found.items()))


def zoo_model_dir(name: str) -> Path:
    """The folder of the named model ``name`` (with or without ``zoo:``), card checked.

    Raises
    ------
    DataMissingError
        If no model has that name; the message lists the known ones.
    ModelMismatchError
        If its card is unreadable or does not match its weights (sha256).
    """
    bare = name[len(ZOO_PREFIX) :] if name.startswith(ZOO_PREFIX) else name
    known = model_names()
    if bare not in known:
        listed = ", ".join(known) or "none"
        raise DataMissingError(
            f"no model named '{bare}' in the zoo (known: {listed}; add one with "
            "'galaxy-xai models install')"
        )
    folder = known[bare]
    check_model_folder(folder)
    return folder


def check_model_folder(folder: Path) -> dict[str, Any]:
    """The card of the named-model folder ``folder``, checked against its files.

    The card must name the folder's model, its ``weights_sha256`` must be the weights'
    sha256, and its task, outputs and input must be its ``model.json``'s. Used on every
    load of a zoo model and before an install moves a model into place.

    Raises
    ------
    DataMissingError
        If the weights or the model file are missing.
    ModelMismatchError
        If the card is unreadable or does not describe these files.
    """
    from galaxy_xai.models.files import MODEL_INFO_NAME, MODEL_WEIGHTS_NAME, sha256_file

    card = read_card(folder, name=folder.name)
    weights = folder / MODEL_WEIGHTS_NAME
    if not weights.is_file() or not (folder / MODEL_INFO_NAME).is_file():
        raise DataMissingError(
            f"zoo model '{folder.name}' ('{folder}') lacks {MODEL_WEIGHTS_NAME} or "
            f"{MODEL_INFO_NAME}"
        )
    actual = sha256_file(weights)
    if actual != card["weights_sha256"]:
        raise ModelMismatchError(
            f"zoo model '{folder.name}': weights '{weights}' do not match the sha256 in its "
            f"card ({actual[:12]}... vs {card['weights_sha256'][:12]}...): the card does not "
            "match its weights, or the file was changed or damaged; reinstall the model"
        )
    check_card_matches_model(folder, card)
    return card


def check_card_matches_model(folder: Path, card: dict[str, Any]) -> None:
    """Refuse a card whose task, outputs or input differ from its ``model.json``.

    Raises
    ------
    ModelMismatchError
        Naming the first field that differs.
    """
    from galaxy_xai.models.files import MODEL_INFO_NAME

    try:
        info = read_json(folder / MODEL_INFO_NAME, what="model file")
    except DataFormatError as exc:
        raise ModelMismatchError(str(exc)) from None
    for key in MATCHED_FIELDS:
        if key in card and card[key] != info.get(key):
            raise ModelMismatchError(
                f"model card '{folder / CARD_NAME}' field '{key}' is {card[key]!r} but its "
                f"model says {info.get(key)!r}: the card does not describe this model"
            )


def read_card(folder: str | os.PathLike[str], *, name: str | None = None) -> dict[str, Any]:
    """The model card in ``folder``, its fields type-checked.

    ``name``: the name the card must give (a zoo folder's name is its model's).

    Raises
    ------
    ModelMismatchError
        If the card is missing, not JSON, or has a field of the wrong type, or its
        ``name`` differs from ``name``.
    """
    path = Path(folder) / CARD_NAME
    if not path.is_file():
        raise ModelMismatchError(f"model folder '{folder}' has no {CARD_NAME}")
    if path.stat().st_size > MAX_CARD_BYTES:
        raise ModelMismatchError(f"model card '{path}' is {path.stat().st_size} bytes, not a card")
    try:
        card = read_json(path, what="model card")
        check_json_fields(card, CARD_FIELDS, where=str(path), required=REQUIRED_CARD_FIELDS)
    except DataFormatError as exc:
        raise ModelMismatchError(str(exc)) from None
    shape = card.get("input_shape")
    if shape is not None and (len(shape) != 3 or min(shape) < 1):
        raise ModelMismatchError(
            f"model card '{path}' field 'input_shape' must be [channels, height, width] > 0, "
            f"found {shape}"
        )
    if name is not None and card["name"] != name:
        raise ModelMismatchError(f"model card '{path}' names model '{card['name']}', not '{name}'")
    return card
