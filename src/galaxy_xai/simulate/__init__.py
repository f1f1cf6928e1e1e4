"""GalSim galaxy simulations with exact ground truth: bulges, disks, bars, arms, knots.

Public API (imported lazily, so ``import galaxy_xai.simulate`` stays cheap)::

    SimulationConfig, load_simulation_config              # configuration (YAML/TOML)
    simulate_galaxies(n, preset=..., size=..., ...)       # in memory: images, catalogue
    simulate_dataset(out, n=..., workers=..., shard=...)  # the dataset store
    save_galaxy_grid(images, catalog, out_png)            # a PNG grid for reports/docs
    draw_parameters, draw_components, render_galaxy       # one galaxy, step by step
    component_maps(dataset, component="bar")              # true component images of a dataset
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RENDERINGS": "config",
    "Distribution": "config",
    "SimulationConfig": "config",
    "SurveyConfig": "config",
    "load_simulation_config": "config",
    "component_maps": "truth_maps",
    "map_truth_correlation": "truth_maps",
    "save_galaxy_grid": "gallery",
    "PRESET_NAMES": "presets",
    "get_preset": "presets",
    "draw_components": "render",
    "render_galaxy": "render",
    "SEED_SCHEME": "suite",
    "simulate_dataset": "suite",
    "simulate_galaxies": "suite",
    "CATALOG_COLUMNS": "truth",
    "GalaxyParameters": "truth",
    "draw_parameters": "truth",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'galaxy_xai.simulate' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"galaxy_xai.simulate.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
