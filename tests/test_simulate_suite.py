"""Simulation datasets: workers, shards + join, interruption and resume, the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from galaxy_xai.cli import main
from galaxy_xai.data.curation import GAMORNET_CLASS_NAMES
from galaxy_xai.data.join import join_datasets
from galaxy_xai.data.store import open_dataset
from galaxy_xai.errors import DataFormatError, DataMissingError, ParameterError
from galaxy_xai.io import partial_path
from galaxy_xai.simulate import simulate_dataset, simulate_galaxies
from galaxy_xai.simulate import suite as suite_module

FAST = {"size": 32, "bulge": {"sersic_n": 4.0}, "bar": {"sersic_n": 0.5}}


def _same(a, b) -> None:
    with open_dataset(a) as da, open_dataset(b) as db:
        np.testing.assert_array_equal(da.images[:], db.images[:])
        assert da.catalog.equals(db.catalog)


def test_dataset_matches_memory_and_records_metadata(tmp_path) -> None:
    out = simulate_dataset(tmp_path / "s.h5", n=5, seed=2, config=FAST)
    images, catalog = simulate_galaxies(5, seed=2, config=FAST)
    with open_dataset(out) as ds:
        assert ds.images.shape == (5, 1, 32, 32)
        np.testing.assert_array_equal(ds.images[:], images)  # uint8 storage is exact
        assert ds.catalog.equals(catalog)
        meta = ds.metadata
    assert meta["kind"] == "simulation"
    assert meta["label_names"] == list(GAMORNET_CLASS_NAMES)
    assert meta["class_names"]["barred"] == ["unbarred", "barred"]
    assert meta["config"]["size"] == 32 and meta["config"]["survey"]["name"] == "sdss"
    assert meta["seed"] == 2 and "SeedSequence" in meta["seed_scheme"]
    assert meta["galsim_version"] and meta["preset"] == "sdss"
    counts = simulate_dataset(tmp_path / "c.h5", n=2, seed=2, config=FAST, rendering="counts")
    with open_dataset(counts) as ds:
        assert ds.images[:].dtype == np.float32 and ds.images[:].min() < 0  # noise, sky-free


def test_one_and_two_workers_give_identical_files(tmp_path) -> None:
    one = simulate_dataset(tmp_path / "w1.h5", n=40, seed=5, workers=1, config=FAST)
    two = simulate_dataset(tmp_path / "w2.h5", n=40, seed=5, workers=2, config=FAST)
    _same(one, two)
    other = simulate_dataset(tmp_path / "s6.h5", n=4, seed=6, config=FAST)
    with open_dataset(one) as a, open_dataset(other) as b:
        assert not np.array_equal(a.images[:4], b.images[:])


def test_joined_shards_equal_the_unsharded_run(tmp_path) -> None:
    full = simulate_dataset(tmp_path / "full.h5", n=10, seed=1, config=FAST)
    parts = [
        simulate_dataset(tmp_path / f"p{i}.h5", n=10, seed=1, config=FAST, shard=f"{i}/3")
        for i in range(3)
    ]
    with open_dataset(parts[1]) as ds:
        assert ds.catalog["index"].tolist() == [3, 4, 5]
        assert ds.metadata["shard"] == [1, 3]
    joined = join_datasets(list(reversed(parts)), tmp_path / "joined.h5")
    _same(full, joined)
    with open_dataset(joined) as ds:
        assert ds.metadata["index_range"] == [0, 10]
        assert ds.metadata["joined_from"][0].endswith("p2.h5")


def test_join_refuses_incompatible_or_incomplete_shards(tmp_path) -> None:
    p0 = simulate_dataset(tmp_path / "p0.h5", n=4, seed=1, config=FAST, shard=(0, 2))
    p1 = simulate_dataset(tmp_path / "p1.h5", n=4, seed=1, config=FAST, shard=(1, 2))
    other_seed = simulate_dataset(tmp_path / "q1.h5", n=4, seed=2, config=FAST, shard=(1, 2))
    with pytest.raises(DataFormatError, match=r"shard\(s\) 1/2 missing"):
        join_datasets([p0], tmp_path / "j.h5")
    with pytest.raises(DataFormatError, match=r"shard 0/2 given twice"):
        join_datasets([p0, p0, p1], tmp_path / "j.h5")
    with pytest.raises(
        DataFormatError, match=r"metadata differs .* \['config'|metadata differs .*seed"
    ):
        join_datasets([p0, other_seed], tmp_path / "j.h5")
    with pytest.raises(DataMissingError, match="shard 'nope.h5' does not exist"):
        join_datasets([p0, "nope.h5"], tmp_path / "j.h5")
    with pytest.raises(ParameterError, match="out="):
        join_datasets([p0, p1], p0)
    bigger = simulate_dataset(
        tmp_path / "b.h5", n=4, seed=1, config={**FAST, "size": 48}, shard=(1, 2)
    )
    with pytest.raises(DataFormatError, match=r"image shape \(1, 48, 48\) differs"):
        join_datasets([p0, bigger], tmp_path / "j.h5")
    assert not (tmp_path / "j.h5").exists()


def test_interrupted_run_leaves_no_finished_file_and_resumes(tmp_path, monkeypatch) -> None:
    out = tmp_path / "r.h5"
    real = suite_module._render_block
    calls: list[list[int]] = []

    def interrupted(config, seed, indices):
        calls.append(list(indices))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(config, seed, indices)

    monkeypatch.setattr(suite_module, "_render_block", interrupted)
    monkeypatch.setattr(suite_module, "_BLOCK", 4)
    with pytest.raises(KeyboardInterrupt):
        simulate_dataset(out, n=12, seed=3, config=FAST)
    assert not out.exists() and partial_path(out).exists()
    with pytest.raises(DataMissingError, match="partial"):
        open_dataset(out)
    calls.clear()
    monkeypatch.setattr(
        suite_module, "_render_block", lambda c, s, i: calls.append(list(i)) or real(c, s, i)
    )
    simulate_dataset(out, n=12, seed=3, config=FAST, resume=True)
    assert calls == [[4, 5, 6, 7], [8, 9, 10, 11]]  # the first block was kept
    assert out.exists() and not partial_path(out).exists()
    _same(out, simulate_dataset(tmp_path / "fresh.h5", n=12, seed=3, config=FAST))
    calls.clear()
    simulate_dataset(out, n=12, seed=3, config=FAST, resume=True)  # already complete
    assert calls == []


def test_dataset_argument_errors(tmp_path) -> None:
    with pytest.raises(ParameterError, match="workers=0"):
        simulate_dataset(tmp_path / "x.h5", n=2, workers=0, config=FAST)
    with pytest.raises(ParameterError, match="n=0"):
        simulate_dataset(tmp_path / "x.h5", n=0, config=FAST)
    with pytest.raises(ParameterError, match=r"^shard='3/2'"):
        simulate_dataset(tmp_path / "x.h5", n=4, shard="3/2", config=FAST)
    with pytest.raises(ParameterError, match=r"shard='1/4': is empty"):
        simulate_dataset(tmp_path / "x.h5", n=1, shard="1/4", config=FAST)
    assert not list(tmp_path.iterdir())


def test_cli_simulate_and_join(tmp_path, capsys) -> None:
    cfg = tmp_path / "sim.yaml"
    cfg.write_text("bulge: {sersic_n: 4}\nbar: {sersic_n: 0.5}\n")
    base = ["simulate", "--n", "4", "--size", "32", "--seed", "8", "--config", str(cfg)]
    assert (
        main([*base, "--out", str(tmp_path / "a.h5"), "--shard", "0/2", "--rendering", "jpeg-rgb"])
        == 0
    )
    assert (
        main([*base, "--out", str(tmp_path / "b.h5"), "--shard", "1/2", "--rendering", "jpeg-rgb"])
        == 0
    )
    assert "wrote 2 galaxies (3, 32, 32)" in capsys.readouterr().out
    assert (
        main(
            [
                "data",
                "join",
                str(tmp_path / "a.h5"),
                str(tmp_path / "b.h5"),
                "--out",
                str(tmp_path / "j.h5"),
            ]
        )
        == 0
    )
    assert "4 rows (3, 32, 32)" in capsys.readouterr().out
    with open_dataset(tmp_path / "j.h5") as ds:
        assert ds.catalog["index"].tolist() == [0, 1, 2, 3]
    assert main([*base, "--out", str(tmp_path / "x.h5"), "--preset", "hubble"]) == 2
    assert "preset='hubble': unknown survey preset" in capsys.readouterr().err
    cfg.write_text("bulge: {sersic_index: 4}\n")
    assert main([*base, "--out", str(tmp_path / "x.h5")]) == 2
    assert "unknown key(s) 'sersic_index'" in capsys.readouterr().err
