"""Pack a recipe's finished model with its card, and render cards as Markdown.

``OUT/model/`` after :func:`pack_model`::

    model.safetensors   weights (fp32; fp16 only where a model would exceed its size cap)
    model.json          the model file, its config's paths made relative
    split.json          the ids the model was trained, validated and tested on
    card.json           the model card (see :data:`galaxy_xai.models.shipped.CARD_FIELDS`)
    card.md             the card as Markdown, for the docs
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from galaxy_xai.io import atomic_output, write_json
from galaxy_xai.models.files import read_model, sha256_file, write_model
from galaxy_xai.models.shipped import CARD_NAME

__all__ = ["MAX_MODEL_BYTES", "pack_model", "render_card"]

#: Size cap of one shipped model's weights (the zoo holds several; all under 25 MB).
MAX_MODEL_BYTES = 5 * 2**20


def _relative_paths(config: dict[str, Any], base: Path) -> dict[str, Any]:
    """``config`` with its dataset and transfer paths relative to ``base`` (no local paths ship)."""
    config = json.loads(json.dumps(config))
    for section, key in (("data", "path"), ("transfer", "checkpoint")):
        value = config.get(section, {}).get(key)
        if value:
            try:
                config[section][key] = str(Path(value).resolve().relative_to(base.resolve()))
            except ValueError:
                config[section][key] = Path(value).name
    return config


def epoch_seconds(out: Path) -> float:
    """Seconds of training summed over every stage's epochs (``metrics.csv`` ``time_s``).

    The recipe's own wall time is not used: a resumed recipe would report only its
    last part.
    """
    import csv

    total = 0.0
    for path in sorted(out.glob("**/metrics.csv")):
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh):
                try:
                    total += float(row.get("time_s") or 0.0)
                except ValueError:
                    continue
    return total


def pack_model(recipe: Any, outcome: Any, out: Path, *, train_seconds: float | None = None) -> Path:
    """Write ``out/model/`` (weights, model file, split, card) from a finished recipe.

    Parameters
    ----------
    recipe
        The :class:`~galaxy_xai.zoo.recipes.Recipe`.
    outcome
        Its :class:`~galaxy_xai.zoo.recipes.RecipeOutcome`.
    out
        The recipe folder.
    train_seconds
        Wall time of the recipe, for the card.

    Returns
    -------
    Path
        The model folder.
    """
    from galaxy_xai import __version__

    model = read_model(outcome.run_dir)
    state = dict(model.state)
    size = sum(t.numel() * t.element_size() for t in state.values())
    dtype = "float32"
    if size > MAX_MODEL_BYTES:  # fp16 storage; loading casts back to the fp32 parameters
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        dtype = "float16"
    info = {k: v for k, v in model.info.items() if k not in ("format", "format_version",
                                                             "weights", "weights_sha256")}  # fmt: skip
    info["config"] = _relative_paths(info["config"], out)
    info["preprocessing"] = outcome.preprocessing
    folder = out / "model"
    tmp_folder = out / "model.partial"
    shutil.rmtree(tmp_folder, ignore_errors=True)
    tmp_folder.mkdir(parents=True)
    write_model(tmp_folder, state, info)
    split = outcome.run_dir / "split.json"
    if split.is_file():
        shutil.copyfile(split, tmp_folder / "split.json")
    weights_sha = sha256_file(tmp_folder / "model.safetensors")
    card = {
        "name": recipe.name,
        "version": recipe.version,
        "task": info["task"],
        "summary": recipe.summary,
        "output_names": info["output_names"],
        "input_shape": info["input_shape"],
        "preprocessing": outcome.preprocessing,
        "architecture": info["build_spec"],
        "recipe": {
            "command": f"galaxy-xai models train {recipe.name} --out DIR",
            "seed": int(info["config"].get("seed", 0)),
            "stages": [_relative_paths(s, out) for s in outcome.stages],
        },
        "data": outcome.data,
        "test_metrics": outcome.test_metrics,
        "training": {
            "device": "cpu",
            "cpu": platform.processor() or platform.machine(),
            "torch_threads": torch.get_num_threads(),
            "torch_version": torch.__version__,
            "train_seconds": round(epoch_seconds(out), 1),
            "wall_seconds_last_run": round(train_seconds, 1) if train_seconds is not None else None,
            "date": time.strftime("%Y-%m-%d"),
        },
        "weights_sha256": weights_sha,
        "weights_dtype": dtype,
        "galaxy_xai_version": __version__,
        "licence": recipe.licence,
        "citation": list(recipe.citation),
        "notes": ([f"Aim: {recipe.aim}"] if getattr(recipe, "aim", "") else [])
        + list(outcome.notes),
    }
    write_json(tmp_folder / CARD_NAME, card)
    with atomic_output(tmp_folder / "card.md") as tmp:
        tmp.write_text(render_card(card))
    for item in tmp_folder.iterdir():
        item.chmod(0o644)
    if folder.exists():
        shutil.rmtree(folder)
    tmp_folder.rename(folder)
    return folder


def _fmt_metric(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value):
        return f"[{value[0]:.3f}, {value[1]:.3f}]"
    return json.dumps(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def render_card(card: dict[str, Any]) -> str:
    """The model card as Markdown (what ``galaxy-xai models show NAME --markdown`` prints)."""
    lines = [f"# {card['name']} (version {card['version']})", "", card["summary"], ""]
    shape = card.get("input_shape")
    if shape:
        lines.append(f"- **Input**: {shape[0]} x {shape[1]} x {shape[2]} (channels x pixels)")
    lines.append(
        f"- **Task**: {card['task']}; outputs: {', '.join(card.get('output_names') or [])}"
    )
    arch = card.get("architecture") or {}
    if arch:
        lines.append(f"- **Architecture**: `{json.dumps(arch)}`")
    prep = card.get("preprocessing") or {}
    if prep.get("import_command"):
        lines.append(f"- **Import your images to fit**: `{prep['import_command']}`")
    for key, value in prep.items():
        if key != "import_command":
            lines.append(f"  - {key}: {value}")
    lines += ["", "## Test figures (galaxies the model never saw)", "", "| metric | value |",
              "|---|---|"]  # fmt: skip
    for key, value in (card.get("test_metrics") or {}).items():
        if key in ("confusion_matrix",):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k} {_fmt_metric(v)}" for k, v in value.items())
        else:
            value = _fmt_metric(value)
        lines.append(f"| {key} | {value} |")
    recipe = card.get("recipe") or {}
    training = card.get("training") or {}
    lines += ["", "## How it was made", "", f"- Recipe: `{recipe.get('command', '')}` (seed "
              f"{recipe.get('seed')})"]  # fmt: skip
    if training:
        lines.append(
            f"- Trained on {training.get('device')} ({training.get('cpu')}), "
            f"{training.get('torch_threads')} torch thread(s), torch "
            f"{training.get('torch_version')}, {training.get('train_seconds')} s of training, "
            f"{training.get('date')}"
        )
    for item in card.get("data") or []:
        count = f", {item['n_images']} files" if item.get("n_images") else ""
        digest = f", sha256 `{str(item['sha256'])[:16]}...`" if item.get("sha256") else ""
        lines.append(f"- Data ({item.get('role')}): `{item.get('path')}`{count}{digest}")
    lines.append(f"- Weights: sha256 `{card['weights_sha256']}`, stored as "
                 f"{card.get('weights_dtype', 'float32')}")  # fmt: skip
    lines.append(f"- galaxy-xai {card.get('galaxy_xai_version', '?')}")
    for note in card.get("notes") or []:
        lines.append(f"- {note}")
    lines += ["", "## Licence and citation", "", str(card.get("licence") or ""), ""]
    lines += [f"- {c}" for c in card.get("citation") or []]
    return "\n".join(lines) + "\n"
