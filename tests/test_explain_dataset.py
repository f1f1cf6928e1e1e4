"""Catalogue-scale maps: explain_dataset, the maps file, shards, resume, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from galaxy_xai.cli import main
from galaxy_xai.data import open_dataset
from galaxy_xai.errors import ParameterError
from galaxy_xai.explain import attribute, explain_dataset, merge_maps, open_maps
from galaxy_xai.explain import dataset as dataset_module


def _model(seed: int) -> torch.nn.Module:
    from galaxy_xai.models import build_model

    torch.manual_seed(seed)
    return build_model(
        "compact", in_channels=1, num_outputs=2, image_size=32, width=4, depth=2, dense_units=8
    ).eval()


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A run folder written the way ``galaxy-xai train`` writes it."""
    from galaxy_xai.models import build_head
    from galaxy_xai.train.config import load_train_config
    from galaxy_xai.train.io import save_trained

    folder = tmp_path / "run"
    save_trained(
        folder,
        _model(0),
        build_head("classification", 2),
        output_names=["blob", "ring"],
        config=load_train_config(),
    )
    return folder


#: The real function, before any test wraps it.
_ENSEMBLE_MAPS = dataset_module._ensemble_maps
OPTS = {"method": "smoothgrad", "target": "ring", "n_samples": 3, "chunk_images": 5}


def test_maps_follow_the_dataset_and_equal_attribute(tiny_dataset, run, tmp_path):
    out = explain_dataset([run], tiny_dataset, tmp_path / "maps.h5", **OPTS)
    with open_maps(out) as maps, open_dataset(tiny_dataset) as ds:
        assert list(maps.ids) == list(ds.catalog["id"])
        np.testing.assert_array_equal(maps.rows, np.arange(24))
        assert maps.maps.shape == (24, 32, 32)
        meta = maps.metadata
        assert meta["method"] == "smoothgrad" and meta["target"] == "ring"
        assert meta["target_index"] == 1 and meta["output_names"] == ["blob", "ring"]
        assert meta["models"] == [str(run)] and meta["n_samples"] == 3
        assert meta["noise_level"] == 0.15 and meta["dataset"] == str(tiny_dataset.resolve())
        from galaxy_xai.train import load_trained

        direct = attribute(
            load_trained(run),
            ds.images[[3, 7]],
            method="smoothgrad",
            target="ring",
            n_samples=3,
            noise_keys=[3, 7],
        )
        np.testing.assert_allclose(maps.maps[[3, 7]], direct, rtol=1e-6)


def test_shards_merge_into_the_full_run(tiny_dataset, tmp_path):
    model = _model(1)
    options = dict(OPTS, target=1, limit=10)
    full = explain_dataset(model, tiny_dataset, tmp_path / "full.h5", **options)
    parts = [
        explain_dataset(model, tiny_dataset, tmp_path / f"s{i}.h5", shard=f"{i}/3", **options)
        for i in (2, 0, 1)
    ]
    with open_maps(parts[0]) as last:
        assert (
            list(last.ids) == ["g006", "g007", "g008", "g009"] and last.metadata["shard"] == "2/3"
        )
    merged = merge_maps(parts, tmp_path / "merged.h5")
    with open_maps(full) as a, open_maps(merged) as b:
        assert list(a.ids) == list(b.ids) and len(a) == 10
        np.testing.assert_allclose(a.maps[:], b.maps[:], rtol=1e-6)
    with pytest.raises(Exception, match="overlap"):
        merge_maps([parts[0], parts[0]], tmp_path / "bad.h5")


def test_interrupted_run_resumes_to_the_same_maps(tiny_dataset, tmp_path, monkeypatch):
    model = _model(2)
    options = dict(OPTS, target=1)
    reference = explain_dataset(model, tiny_dataset, tmp_path / "ref.h5", **options)
    real = dataset_module._ensemble_maps
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(dataset_module, "_ensemble_maps", flaky)
    out = tmp_path / "maps.h5"
    with pytest.raises(KeyboardInterrupt):
        explain_dataset(model, tiny_dataset, out, **options)
    assert not out.exists() and Path(str(out) + ".partial").exists()
    calls["n"] = -100
    explain_dataset(model, tiny_dataset, out, resume=True, **options)
    assert calls["n"] == -100 + 3  # only the 3 missing chunks of 5 images were computed
    with open_maps(out) as a, open_maps(reference) as b:
        np.testing.assert_allclose(a.maps[:], b.maps[:], rtol=1e-6)


def _interrupt_after(monkeypatch, chunks: int) -> dict[str, int]:
    """Make explain_dataset stop (Ctrl-C) before its chunk ``chunks + 1``; count chunks."""
    real = _ENSEMBLE_MAPS
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == chunks + 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(dataset_module, "_ensemble_maps", flaky)
    return calls


def test_without_resume_a_partial_file_is_discarded(tiny_dataset, tmp_path, monkeypatch):
    """As ``simulate`` and ``data import``: no resume unless asked, every map afresh."""
    model = _model(2)
    options = dict(OPTS, target=1)
    reference = explain_dataset(model, tiny_dataset, tmp_path / "ref.h5", **options)
    calls = _interrupt_after(monkeypatch, 2)
    out = tmp_path / "maps.h5"
    with pytest.raises(KeyboardInterrupt):
        explain_dataset(model, tiny_dataset, out, **options)
    partial = Path(str(out) + ".partial")
    with h5py.File(partial, "a") as h5:  # poison a written map: a resume would keep it
        assert h5["_written"][:].sum() == 10
        h5["maps"][0] = 7.0
    calls["n"] = -100
    explain_dataset(model, tiny_dataset, out, **options)
    assert calls["n"] == -100 + 5  # all 5 chunks of 5 images computed again
    assert not partial.exists()
    with open_maps(out) as a, open_maps(reference) as b:
        np.testing.assert_array_equal(a.maps[:], b.maps[:])


def _cli(run: Path, data: Path, out: Path, *extra: str) -> int:
    return main(["explain", "--model", str(run), "--data", str(data), "--out", str(out),
                 "--target", "ring", "--n-samples", "3", "--limit", "12", *extra])  # fmt: skip


def test_cli_resume_is_opt_in(tiny_dataset, run, tmp_path, monkeypatch, capsys):
    """``--resume`` continues a partial file; without it (or with the deprecated
    ``--no-resume``) the CLI starts afresh; both end with the uninterrupted maps."""
    monkeypatch.setitem(explain_dataset.__kwdefaults__, "chunk_images", 5)  # 12 rows: 3 chunks
    reference = tmp_path / "ref.h5"
    assert _cli(run, tiny_dataset, reference) == 0
    out = tmp_path / "maps.h5"
    for extra, computed in (([], 3), (["--resume"], 2), (["--no-resume"], 3)):
        calls = _interrupt_after(monkeypatch, 1)
        assert _cli(run, tiny_dataset, out) == 130  # Ctrl-C after the first chunk
        assert not out.exists() and Path(str(out) + ".partial").exists()
        calls["n"] = -100
        if extra == ["--no-resume"]:
            with pytest.warns(FutureWarning, match="'--no-resume' is deprecated"):
                assert _cli(run, tiny_dataset, out, *extra) == 0
        else:
            assert _cli(run, tiny_dataset, out, *extra) == 0
        assert calls["n"] == -100 + computed, extra
        assert "wrote 12 smoothgrad maps" in capsys.readouterr().out
        with open_maps(out) as a, open_maps(reference) as b:
            np.testing.assert_allclose(a.maps[:], b.maps[:], rtol=1e-6)
            assert a.metadata["method_options"] == {"n_steps": 50}  # as before --config
        out.unlink()


def test_ensemble_averages_normalised_maps_and_writes_overlays(tiny_dataset, tmp_path):
    models = [_model(3), _model(4)]
    options = dict(OPTS, target=0, limit=4)
    out = explain_dataset(
        models, tiny_dataset, tmp_path / "ens.h5", overlays_dir=tmp_path / "png", **options
    )
    singles = [
        explain_dataset(m, tiny_dataset, tmp_path / f"m{i}.h5", **options)
        for i, m in enumerate(models)
    ]
    with open_maps(out) as ens:
        expected = 0
        for path in singles:
            with open_maps(path) as one:
                maps = one.maps[:]
            expected = expected + maps / np.abs(maps).reshape(4, -1).max(1)[:, None, None]
        np.testing.assert_allclose(ens.maps[:], expected / 2, rtol=1e-5)
        assert ens.metadata["ensemble_normalize"] is True and len(ens.metadata["models"]) == 2
    pngs = sorted(p.name for p in (tmp_path / "png").iterdir())
    assert pngs == ["g000.png", "g001.png", "g002.png", "g003.png"]
    with Image.open(tmp_path / "png" / "g000.png") as img:
        assert img.size == (2 * 64, 64) and img.mode == "RGB"


def test_bad_target_names_the_model(tiny_dataset, run, tmp_path):
    with pytest.raises(ParameterError, match=r"target='bar'.*\['blob', 'ring'\] \(model .*run\)"):
        explain_dataset(run, tiny_dataset, tmp_path / "m.h5", method="gradient", target="bar")


def test_cli_explain_and_check(tiny_dataset, run, tmp_path, capsys):
    out = tmp_path / "maps.h5"
    status = main(
        [
            "explain",
            "--model",
            str(run),
            "--data",
            str(tiny_dataset),
            "--method",
            "vargrad",
            "--target",
            "ring",
            "--n-samples",
            "3",
            "--limit",
            "6",
            "--shard",
            "1/2",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    assert "wrote 3 vargrad maps" in capsys.readouterr().out
    with open_maps(out) as maps:
        assert list(maps.ids) == ["g003", "g004", "g005"]
        assert maps.maps[:].min() >= 0  # variances
    status = main(
        [
            "explain",
            "--model",
            str(run),
            "--data",
            str(tiny_dataset),
            "--target",
            "spiral",
            "--out",
            str(tmp_path / "x.h5"),
        ]
    )
    assert status == 2
    assert "target='spiral'" in capsys.readouterr().err
    checks = tmp_path / "checks.json"
    status = main(
        [
            "explain",
            "--check",
            "--model",
            str(run),
            "--data",
            str(tiny_dataset),
            "--methods",
            "gradient",
            "gradcam",
            "--target",
            "1",
            "--n",
            "3",
            "--out",
            str(checks),
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "spearman" in printed and "random order" in printed
    report = json.loads(checks.read_text())
    assert report["n_images"] == 3 and set(report["methods"]) == {"gradient", "gradcam"}
    row = report["methods"]["gradient"]
    for key in (
        "spearman",
        "ssim",
        "deletion_auc",
        "insertion_auc",
        "infidelity",
        "sensitivity_max",
        "sanity_layers",
    ):
        assert key in row
    assert -1 <= row["spearman"] < 1
    status = main(
        [
            "explain",
            "--check",
            "--model",
            str(run),
            "--data",
            str(tiny_dataset),
            "--methods",
            "shap",
            "--out",
            str(checks),
        ]
    )
    assert status == 2 and "method='shap'" in capsys.readouterr().err


def test_mc_dropout_draws_are_shard_invariant(tiny_dataset, tmp_path):
    model = _model(5)  # CompactCNN has nn.Dropout before its output layer
    options = dict(OPTS, target=1, limit=6, mc_dropout=True)
    a = explain_dataset(model, tiny_dataset, tmp_path / "a.h5", seed=1, **options)
    b = explain_dataset(model, tiny_dataset, tmp_path / "b.h5", seed=2, **options)
    half = explain_dataset(model, tiny_dataset, tmp_path / "h.h5", seed=1, shard="1/2", **options)
    with open_maps(a) as ma, open_maps(b) as mb, open_maps(half) as mh:
        assert ma.metadata["mc_dropout"] is True
        assert np.abs(ma.maps[:] - mb.maps[:]).max() > 1e-6  # two posterior draws
        np.testing.assert_allclose(mh.maps[:], ma.maps[3:], rtol=1e-6)
