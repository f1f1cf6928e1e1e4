"""The recipes that trained the shipped models, in code (``galaxy-xai models train NAME``).

Each recipe imports or simulates its data inside its output folder, trains there
(every stage resumable: rerun with ``resume=True`` after an interruption), scores
the model on galaxies it never saw, and :func:`galaxy_xai.zoo.package.pack_model` packs
the finished model with its card into ``OUT/model/``. What ships in the package is
that folder, unchanged.

Recipes read the real data from ``data_root`` (the folder described by
``../shared/data/README.md``; ``GALAXY_XAI_DATA``). They are run with one torch
thread: on a shared 2-core machine one thread is the predictable choice, and the same
thread count reproduces the same weights.
"""

from __future__ import annotations

from galaxy_xai.zoo.recipe_bars import BAR_LENGTH_DIRECT, BAR_SDSS
from galaxy_xai.zoo.recipe_base import Recipe, RecipeOutcome, RecipeRunConfig, data_root_from_env
from galaxy_xai.zoo.recipe_gamornet import GAMORNET_SDSS
from galaxy_xai.zoo.recipe_gz1 import GZ1_MORPHOLOGY

__all__ = ["RECIPES", "Recipe", "RecipeOutcome", "RecipeRunConfig", "data_root_from_env"]

RECIPES: dict[str, Recipe] = {
    r.name: r for r in (GZ1_MORPHOLOGY, BAR_SDSS, GAMORNET_SDSS, BAR_LENGTH_DIRECT)
}
