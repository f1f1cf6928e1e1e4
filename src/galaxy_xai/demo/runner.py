"""Running the chain: stages, their fingerprints and done-markers, resume and ``force``.

:func:`run_demo` runs the stages of ``galaxy_xai.demo.STAGES`` (looked up when called,
so a replaced table is honoured) in order, skipping those whose done-marker holds the
fingerprint of their current configuration.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galaxy_xai.config import config_to_dict
from galaxy_xai.demo.config import DEMO_MARKER, DemoConfig, demo_config
from galaxy_xai.errors import ParameterError
from galaxy_xai.io import write_json

__all__ = ["Context", "Stage", "read_marker", "run_demo"]

logger = logging.getLogger("galaxy_xai.demo")  # one logger for the whole demo


@dataclass(frozen=True)
class Stage:
    """One step of the chain: its function and the config fields it depends on."""

    name: str
    run: Callable[[Context], dict[str, Any]]
    keys: tuple[str, ...]
    needs: tuple[str, ...] = ()
    real_data: bool = False  # runs only with --data


@dataclass
class Context:
    """What a stage function gets: the output folder and the configuration."""

    out: Path
    config: DemoConfig
    timings: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def stage_dir(self, name: str) -> Path:
        return self.out / "stages" / name

    def path(self, *parts: str) -> Path:
        return self.out.joinpath(*parts)

    def seed(self, offset: int) -> int:
        return int(self.config.seed) * 1000 + offset


def _fingerprint(stage: Stage, config: DemoConfig, upstream: dict[str, str]) -> str:
    from galaxy_xai import __version__

    payload = {
        "stage": stage.name,
        "version": __version__,
        "config": {k: config_to_dict(getattr(config, k)) for k in ("seed", *stage.keys)},
        "needs": {n: upstream.get(n, "") for n in stage.needs},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def read_marker(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path`` (a done-marker), or None if missing or unreadable."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):  # ValueError: not UTF-8, not JSON
        return None
    return data if isinstance(data, dict) else None


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ParameterError("out", str(out), "is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / DEMO_MARKER).is_file():
        raise ParameterError(
            "out",
            str(out),
            f"is a non-empty folder that holds no demo run ({DEMO_MARKER} missing); "
            "choose an empty or new folder",
        )


def run_demo(
    out: str | os.PathLike[str],
    config: DemoConfig | None = None,
    *,
    force: bool = False,
) -> Path:
    """Run the demo chain into ``out`` and return the path of ``out/report.html``.

    Parameters
    ----------
    out
        Output folder: new, empty, or an earlier demo run (resumed).
    config
        :class:`DemoConfig`; default :func:`demo_config` ().
    force
        Rerun every stage even when its done-marker matches.

    Returns
    -------
    Path
        ``out/report.html``.

    Raises
    ------
    ParameterError
        If ``out`` is a file, or a non-empty folder that is not a demo run.
    """
    from galaxy_xai import demo  # the chain is the package's STAGES, read at call time

    chain: tuple[Stage, ...] = demo.STAGES
    config = config or demo_config()
    out = Path(out)
    _check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / DEMO_MARKER, {"config": config_to_dict(config)})
    stages = [s for s in chain if config.data is not None or not s.real_data]
    ctx = Context(out, config)
    for stage in chain:
        if stage not in stages and ctx.stage_dir(stage.name).exists():
            _remove_stage(ctx, stage.name)  # e.g. real-data results of an earlier --data run
    fingerprints: dict[str, str] = {}
    timings = ctx.timings
    for k, stage in enumerate(stages, start=1):
        fp = _fingerprint(stage, config, fingerprints)
        fingerprints[stage.name] = fp
        marker = ctx.stage_dir(stage.name) / "done.json"
        done = read_marker(marker)
        label = f"stage {k}/{len(stages)} {stage.name}"
        if stage.name != "report" and not force and done and done.get("fingerprint") == fp:
            logger.info("%s ... skipped (finished earlier in %.1f s)", label, done["seconds"])
            timings.append({"name": stage.name, "seconds": done["seconds"], "status": "resumed"})
            continue
        logger.info("%s ...", label)
        if ctx.stage_dir(stage.name).exists():
            shutil.rmtree(ctx.stage_dir(stage.name))
        ctx.stage_dir(stage.name).mkdir(parents=True)
        t0 = time.perf_counter()
        summary = stage.run(ctx)
        seconds = round(time.perf_counter() - t0, 2)
        write_json(marker, {"fingerprint": fp, "seconds": seconds, "summary": summary})
        timings.append({"name": stage.name, "seconds": seconds, "status": "ran"})
        logger.info("%s ... done in %.1f s", label, seconds)
    return out / "report.html"


def _remove_stage(ctx: Context, name: str) -> None:
    """Delete a stage's folder and the report panels it listed in its done-marker."""
    marker = read_marker(ctx.stage_dir(name) / "done.json") or {}
    for section, panel in (marker.get("summary") or {}).get("panels", []):
        folder = ctx.out / str(section) / str(panel)
        if folder.is_dir() and folder.parent.parent == ctx.out:
            shutil.rmtree(folder)
    shutil.rmtree(ctx.stage_dir(name))
    logger.info("removed the results of stage %r (not part of this run)", name)
