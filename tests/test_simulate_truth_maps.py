"""Component images redrawn from a simulated dataset: the ground truth for saliency maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galaxy_xai.data import open_dataset, write_dataset
from galaxy_xai.data.join import join_datasets
from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.simulate import simulate_dataset
from galaxy_xai.simulate.render import COMPONENT_NAMES
from galaxy_xai.simulate.truth_maps import component_maps, map_truth_correlation

NOISELESS = {"size": 32, "bulge": {"sersic_n": 4.0}, "bar": {"sersic_n": 0.5}, "noise": False}


def test_components_add_up_to_the_stored_noiseless_images(tmp_path) -> None:
    # rotations and flips are on by default: the sum only matches if each component is
    # redrawn in the stored galaxy's orientation
    out = simulate_dataset(
        tmp_path / "s.h5", n=6, seed=3, config=NOISELESS, bar_fraction=0.5, rendering="counts"
    )
    total = sum(component_maps(out, component=c) for c in COMPONENT_NAMES)
    with open_dataset(out) as ds:
        stored = ds.images[:][:, 0]
        catalog = ds.catalog
    assert catalog["flipped"].nunique() == 2 or catalog["rotation_deg"].nunique() == 6
    np.testing.assert_allclose(total, stored, rtol=1e-4, atol=1e-3 * stored.max())
    bars = component_maps(out, component="bar")
    barred = catalog["barred"].to_numpy() == 1
    assert barred.any() and (~barred).any()
    assert np.all(bars[~barred] == 0) and np.all(bars[barred].max(axis=(1, 2)) > 0)
    # the bar's light lies along its catalogued position angle (weighted second moments;
    # the convention: counter-clockwise from +x, the columns, towards +y, the rows)
    k = int(np.argmax(catalog["bar_length_px"].to_numpy()))
    yy, xx = np.mgrid[: bars.shape[1], : bars.shape[2]]
    w = bars[k] / bars[k].sum()
    dx, dy = xx - (w * xx).sum(), yy - (w * yy).sum()
    cov = [[(w * dx * dx).sum(), (w * dx * dy).sum()], [(w * dx * dy).sum(), (w * dy * dy).sum()]]
    major = np.linalg.eigh(np.array(cov))[1][:, -1]
    angle = np.degrees(np.arctan2(major[1], major[0])) % 180
    expected = catalog["bar_position_angle_deg"].iloc[k] % 180
    assert min(abs(angle - expected), 180 - abs(angle - expected)) < 1.0
    # rows pick galaxies in the dataset's order; the bare profile is sharper
    np.testing.assert_array_equal(component_maps(out, component="bar", rows=[k]), bars[[k]])
    bare = component_maps(out, component="bar", psf=False, rows=[k])
    assert bare.max() > bars[k].max()


def test_bad_component_and_non_simulated_file(tmp_path) -> None:
    out = simulate_dataset(tmp_path / "s.h5", n=1, seed=1, config=NOISELESS)
    with pytest.raises(ParameterError, match="component"):
        component_maps(out, component="halo")
    plain = write_dataset(
        tmp_path / "plain.h5",
        np.zeros((2, 1, 8, 8), np.float32),
        pd.DataFrame({"id": ["a", "b"]}),
    )
    with pytest.raises(DataFormatError, match="plain.h5"):
        component_maps(plain)


def test_a_file_from_another_simulation_version_is_refused(tmp_path) -> None:
    out = simulate_dataset(tmp_path / "s.h5", n=2, seed=1, config=NOISELESS, bar_fraction=1.0)
    with open_dataset(out) as ds:
        images, catalog, metadata = ds.images[:], ds.catalog.copy(), dict(ds.metadata)
    # a catalogue that the stored config cannot have made
    edited = catalog.copy()
    edited.loc[1, "bar_length_px"] += 3.0
    changed = write_dataset(tmp_path / "changed.h5", images, edited, metadata=metadata)
    with pytest.raises(DataFormatError, match=r"changed.h5' row 1 .*bar_length_px"):
        component_maps(changed, component="bar")
    # a stored config that differs from the one the galaxies were made with (the bar's
    # Sersic index does not change its length, only its light)
    config = {**metadata["config"], "bar": {**metadata["config"]["bar"], "sersic_n": 1.5}}
    other = write_dataset(
        tmp_path / "other.h5", images, catalog, metadata={**metadata, "config": config}
    )
    with pytest.raises(DataFormatError, match=r"other.h5' row 0 .*bar_sersic_n"):
        component_maps(other, component="bar")


def test_shards_redraw_their_own_galaxies_and_rows_are_checked(tmp_path) -> None:
    args = {"n": 4, "seed": 5, "config": NOISELESS, "bar_fraction": 1.0}
    whole = simulate_dataset(tmp_path / "all.h5", **args)
    parts = [simulate_dataset(tmp_path / f"p{i}.h5", shard=f"{i}/2", **args) for i in range(2)]
    joined = join_datasets(parts, tmp_path / "joined.h5")
    expected = component_maps(whole)
    np.testing.assert_array_equal(component_maps(parts[1]), expected[2:])
    np.testing.assert_array_equal(component_maps(joined, rows=[3, 0]), expected[[3, 0]])
    for bad in ([4], [-1], [0.5], [True]):
        with pytest.raises(ParameterError, match="rows"):
            component_maps(whole, rows=bad)


def test_map_truth_correlation() -> None:
    rng = np.random.default_rng(0)
    truth = rng.random((3, 8, 8))
    maps = np.stack([truth[0], -truth[1], np.ones((8, 8))])
    r = map_truth_correlation(maps, truth)
    np.testing.assert_allclose(r[:2], [1.0, -1.0])
    assert np.isnan(r[2])
    with pytest.raises(ParameterError, match="maps"):
        map_truth_correlation(maps[:2], truth)
