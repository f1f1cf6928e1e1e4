"""The PNG grid helper used by reports and docs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.simulate import save_galaxy_grid, simulate_galaxies


def test_grid_png_decodes_with_the_expected_size(tmp_path) -> None:
    config = {"size": 48, "bar_fraction": 1.0, "bulge": {"sersic_n": 4.0}, "bar": {"sersic_n": 0.5}}
    images, catalog = simulate_galaxies(5, seed=1, config=config, rendering="jpeg-rgb")
    out = save_galaxy_grid(images, catalog, tmp_path / "grid.png", ncols=3, panel_px=64)
    with Image.open(out) as png:
        png.load()
        assert png.format == "PNG" and png.size == (3 * 64, 2 * 64)
        pixels = np.asarray(png.convert("RGB"))
    assert pixels.std() > 5  # galaxies and labels were drawn, not a blank canvas
    counts, cat = simulate_galaxies(2, seed=1, config=config, rendering="counts")
    out = save_galaxy_grid(counts, cat, tmp_path / "c.png", ncols=4, panel_px=50, title="sims")
    with Image.open(out) as png:
        assert png.size == (2 * 50, 50 + 50 // 4)


def test_grid_errors(tmp_path) -> None:
    with pytest.raises(ParameterError, match=r"images=\(2, 32, 32\)"):
        save_galaxy_grid(np.zeros((2, 32, 32)), None, tmp_path / "x.png")
    with pytest.raises(ParameterError, match="ncols=0"):
        save_galaxy_grid(np.zeros((2, 1, 32, 32)), None, tmp_path / "x.png", ncols=0)
    _, catalog = simulate_galaxies(1, seed=1, config={"size": 32, "bulge": {"sersic_n": 4.0}})
    with pytest.raises(DataFormatError, match="1 rows for 2 images"):
        save_galaxy_grid(np.zeros((2, 1, 32, 32)), catalog, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
