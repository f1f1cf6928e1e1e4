"""The model zoo: named models, cards, zoo:NAME everywhere, install/export, recipes."""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from _train_helpers import blob_ring_dataset, tiny_run
from galaxy_xai.cli import main
from galaxy_xai.errors import DataFormatError, DataMissingError, ModelMismatchError, ParameterError
from galaxy_xai.models.files import sha256_file
from galaxy_xai.models.shipped import model_names, read_card, shipped_dir
from galaxy_xai.zoo.package import render_card
from galaxy_xai.zoo.recipe_base import Recipe, RecipeOutcome

SHIPPED = (
    sorted(p.name for p in shipped_dir().iterdir() if (p / "card.json").is_file())
    if (shipped_dir().is_dir())
    else []
)


def _fake_recipe(name: str) -> Recipe:
    return Recipe(name=name, version="0.1", summary="test model: blobs vs rings",
                  run=lambda out, root, resume: None,  # type: ignore[arg-type,return-value]
                  licence="test data", citation=("nobody 2026",))  # fmt: skip


def make_zoo_model(root: Path, work: Path, name: str = "tiny-blobs") -> Path:
    """A packed tiny model installed as ``root/name`` (a user model folder)."""
    from galaxy_xai.zoo.package import pack_model

    run = tiny_run(work)
    outcome = RecipeOutcome(
        run_dir=run, test_metrics={"accuracy": 0.5, "accuracy_ci95": [0.3, 0.7]},
        data=[{"path": "d.h5", "sha256": sha256_file(work / "d.h5"), "n_images": 32,
               "role": "train"}],
        preprocessing={"size": 16, "channels": "gray",
                       "import_command": "galaxy-xai data import folder SRC --out X.h5 --size 16"},
        stages=[{"data": {"path": str(work / "d.h5")}}],
    )  # fmt: skip
    folder = pack_model(_fake_recipe(name), outcome, work / "recipe", train_seconds=1.0)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(folder, root / name)
    return root / name


@pytest.fixture
def user_zoo(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "models"
    monkeypatch.setenv("GALAXY_XAI_MODELS", str(root))
    make_zoo_model(root, tmp_path / "work")
    return root


# ---------------------------------------------------------------- shipped models


def test_the_zoo_ships_the_models_the_issue_names():
    assert {"gz1-morphology", "bar-sdss", "gamornet-sdss", "bar-length-direct"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_with_a_card_that_matches(name):
    from galaxy_xai import zoo

    card = zoo.card(name)
    trained = zoo.load(name)
    folder = zoo.path(name)
    assert card["weights_sha256"] == sha256_file(folder / "model.safetensors")
    assert list(trained.input_shape) == card["input_shape"]
    assert trained.output_names == card["output_names"]
    assert (folder / "model.safetensors").stat().st_size < 5 * 2**20
    assert card["test_metrics"] and card["data"] and card["citation"] and card["licence"]
    assert card["recipe"]["stages"] and card["preprocessing"]["import_command"]
    # no local paths of the machine that trained it
    text = (folder / "card.json").read_text() + (folder / "model.json").read_text()
    assert "/work/" not in text and "/home/" not in text
    # the shipped model predicts: outputs of the right shape and range
    x = np.random.default_rng(0).random((2, *trained.input_shape), dtype=np.float32)
    import torch

    out = trained.predict_batch(torch.from_numpy(x))
    assert out.shape == (2, len(trained.output_names)) and torch.isfinite(out).all()
    # the rendered card names the figures
    md = render_card(card)
    assert card["name"] in md and "Test figures" in md


def test_all_shipped_weights_together_under_25_mb():
    total = sum(f.stat().st_size for f in shipped_dir().glob("*/model.safetensors"))
    assert 0 < total < 25 * 2**20


def test_gamornet_recipe_keeps_the_simulations_its_shipped_model_saw():
    """Later changes to the GZ1 stand-in must not leak into the gamornet-sdss recipe.

    The hash is that of ``sim_config("stand-in", 83)`` when version 1.1 was trained; a
    stand-in change that alters it means ``models train`` no longer reproduces the card.
    """
    from galaxy_xai.simulate.presets import STAND_INS
    from galaxy_xai.zoo.recipe_gamornet import sim_config

    config = sim_config("stand-in", 83)
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
    assert digest == "8711fb5d6af114cc80241441f484b5e1dc59745b2e7b80634c74111ff7c60cab"
    assert "knots" in STAND_INS["gz1"] and "knots" not in config and "jpeg" not in config


def test_models_list_and_show(capsys, user_zoo):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "tiny-blobs" in out and "accuracy 0.500 [0.30, 0.70]" in out
    for name in SHIPPED:
        assert name in out
    assert main(["models", "show", "zoo:tiny-blobs"]) == 0
    assert "# tiny-blobs (version 0.1)" in capsys.readouterr().out
    assert main(["models", "show", "tiny-blobs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "tiny-blobs"


def test_unknown_zoo_name_lists_the_known_ones(capsys, user_zoo):
    assert main(["predict", "--model", "zoo:nope", "--data", "x.h5", "--out", "p.csv"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no model named 'nope'" in err and "tiny-blobs" in err and len(err.splitlines()) == 1


# ---------------------------------------------------------------- zoo:NAME everywhere


def test_zoo_name_in_predict_evaluate_explain_and_transfer(tmp_path, user_zoo, capsys):
    from galaxy_xai import zoo

    data = blob_ring_dataset(tmp_path / "new.h5", n=20)
    assert main(["predict", "--model", "zoo:tiny-blobs", "--data", str(data),
                 "--out", str(tmp_path / "p.csv")]) == 0  # fmt: skip
    assert (tmp_path / "p.csv").read_text().count("\n") == 21
    assert main(["evaluate", "--model", "zoo:tiny-blobs", "--data", str(data), "--split", "all",
                 "--out", str(tmp_path / "e.json")]) == 0  # fmt: skip
    assert json.loads((tmp_path / "e.json").read_text())["n"] == 20
    assert main(["explain", "--model", "zoo:tiny-blobs", "--data", str(data), "--method",
                 "gradient", "--target", "ring", "--out", str(tmp_path / "m.h5")]) == 0  # fmt: skip
    assert (tmp_path / "m.h5").is_file()
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "ft"),
                 "--transfer-from", "zoo:tiny-blobs", "--epochs", "1"]) == 0  # fmt: skip
    ft = zoo.load("tiny-blobs")
    from galaxy_xai.train import load_trained

    tuned = load_trained(tmp_path / "ft")
    assert tuned.output_names == ft.output_names


def test_zoo_model_that_does_not_fit_says_how_to_import(tmp_path, user_zoo, capsys):
    data = blob_ring_dataset(tmp_path / "big.h5", n=8, size=24)
    assert main(["predict", "--model", "zoo:tiny-blobs", "--data", str(data),
                 "--out", str(tmp_path / "p.csv")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "24x24 px instead of 16x16" in err
    assert "galaxy-xai data import folder SRC --out X.h5 --size 16" in err
    assert main(["explain", "--model", "zoo:tiny-blobs", "--data", str(data), "--target", "ring",
                 "--method", "gradient", "--out", str(tmp_path / "m.h5")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "expects (1, 16, 16)" in err and "--size 16" in err and len(err.splitlines()) == 1


def test_benchmarks_take_a_model_only_where_they_can_score_one(capsys):
    from benchmarks.__main__ import main as bench_main
    from benchmarks.__main__ import takes_model

    assert takes_model("gz1-classify") and takes_model("gamornet-sim2real")
    assert takes_model("few-label-transfer") and takes_model("bar-length-gzb")
    assert not takes_model("simulate")
    assert bench_main(["simulate", "--model", "zoo:gz1-morphology"]) == 2
    assert "do not take --model" in capsys.readouterr().err


def test_tampered_weights_fail_their_checksum(tmp_path, user_zoo, capsys):
    weights = user_zoo / "tiny-blobs" / "model.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-1] ^= 1
    weights.write_bytes(bytes(blob))
    with pytest.raises(ModelMismatchError, match="do not match the sha256 in its card"):
        from galaxy_xai import zoo

        zoo.load("tiny-blobs")
    data = blob_ring_dataset(tmp_path / "d.h5", n=8)
    assert main(["predict", "--model", "zoo:tiny-blobs", "--data", str(data),
                 "--out", str(tmp_path / "p.csv")]) == 2  # fmt: skip
    assert "do not match the sha256" in capsys.readouterr().err


def test_card_that_names_other_weights_is_an_error(user_zoo):
    from galaxy_xai import zoo

    card_path = user_zoo / "tiny-blobs" / "card.json"
    card = json.loads(card_path.read_text())
    card["weights_sha256"] = "0" * 64
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelMismatchError, match="sha256 in its card"):
        zoo.load("tiny-blobs")


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [("name", "other", "names model 'other'"), ("test_metrics", [1], "must be an object"),
     ("weights_sha256", None, "has no 'weights_sha256'")],
)  # fmt: skip
def test_malformed_card_is_refused(user_zoo, field, value, match):
    card_path = user_zoo / "tiny-blobs" / "card.json"
    card = json.loads(card_path.read_text())
    card[field] = value
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelMismatchError, match=match):
        read_card(user_zoo / "tiny-blobs", name="tiny-blobs")


# ---------------------------------------------------------------- install / export


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_root(tmp_path):
    """A local HTTP server over ``tmp_path/www``: yields (folder, base URL)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = lambda *a, **k: _Quiet(*a, directory=str(www), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_export_then_install_over_http(tmp_path, user_zoo, http_root, capsys, monkeypatch):
    www, base = http_root
    archive = www / "tiny.zip"
    assert main(["models", "export", "tiny-blobs", "--out", str(archive)]) == 0
    digest = sha256_file(archive)
    assert digest in capsys.readouterr().out
    other = tmp_path / "other-models"
    monkeypatch.setenv("GALAXY_XAI_MODELS", str(other))
    assert main(["models", "install", f"{base}/tiny.zip", "--sha256", digest]) == 0
    assert (other / "tiny-blobs" / "model.safetensors").is_file()
    assert "tiny-blobs" in model_names()
    from galaxy_xai import zoo

    assert zoo.load("zoo:tiny-blobs").output_names == ["blob", "ring"]
    # a second install of the same name needs --force
    assert main(["models", "install", f"{base}/tiny.zip", "--sha256", digest]) == 2
    assert "already installed" in capsys.readouterr().err
    assert main(["models", "install", str(archive), "--sha256", digest, "--force"]) == 0
    assert not list(other.glob(".install-*"))  # no staging folder left behind


def test_install_refuses_a_wrong_checksum_and_installs_nothing(
    tmp_path, user_zoo, http_root, capsys
):
    from galaxy_xai.zoo.install import export_model, install_model

    www, base = http_root
    export_model("tiny-blobs", www / "t.zip")
    dest = tmp_path / "dest"
    with pytest.raises(ModelMismatchError, match="not installed"):
        install_model(f"{base}/t.zip", "a" * 64, models_dir=dest)
    assert not (dest / "tiny-blobs").exists()
    assert main(["models", "install", f"{base}/t.zip", "--sha256", "xyz"]) == 2
    assert "64 hexadecimal digits" in capsys.readouterr().err
    with pytest.raises(DataMissingError, match="could not download"):
        install_model(f"{base}/missing.zip", "a" * 64, models_dir=dest)


def _zip(path: Path, members: dict[str, bytes]) -> tuple[Path, str]:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path, sha256_file(path)


def test_install_refuses_archives_that_are_not_one_model(tmp_path, user_zoo):
    from galaxy_xai.zoo.install import install_model

    folder = user_zoo / "tiny-blobs"
    good = {n: (folder / n).read_bytes() for n in ("model.safetensors", "model.json", "card.json")}
    cases = {
        "traversal": ({**good, "../evil.py": b"x"}, "one folder"),
        "extra member": ({**good, "run.sh": b"x"}, "holds only"),
        "missing card": ({k: v for k, v in good.items() if k != "card.json"}, "lacks card.json"),
    }
    for label, (members, match) in cases.items():
        path, digest = _zip(tmp_path / f"{label}.zip", members)
        with pytest.raises(DataFormatError, match=match):
            install_model(path, digest, models_dir=tmp_path / "dest")
    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"hello")
    with pytest.raises(DataFormatError, match="not a zip file"):
        install_model(not_zip, sha256_file(not_zip), models_dir=tmp_path / "dest")
    # a card naming a shipped model cannot shadow it
    if SHIPPED:
        card = json.loads(good["card.json"])
        card["name"] = SHIPPED[0]
        path, digest = _zip(
            tmp_path / "clash.zip", {**good, "card.json": json.dumps(card).encode()}
        )
        with pytest.raises(ParameterError, match="ships with galaxy-xai"):
            install_model(path, digest, models_dir=tmp_path / "dest")
    # weights that do not match the card inside the archive
    card = json.loads(good["card.json"])
    card["weights_sha256"] = "b" * 64
    path, digest = _zip(tmp_path / "bad-card.zip", {**good, "card.json": json.dumps(card).encode()})
    with pytest.raises(ModelMismatchError, match="does not match its weights"):
        install_model(path, digest, models_dir=tmp_path / "dest")
    assert not (tmp_path / "dest" / "tiny-blobs").exists()


# ---------------------------------------------------------------- recipes


def test_models_train_rejects_unknown_names_and_missing_data(tmp_path, capsys, monkeypatch):
    assert main(["models", "train", "nope", "--out", str(tmp_path / "r")]) == 2
    assert "has no recipe" in capsys.readouterr().err
    monkeypatch.delenv("GALAXY_XAI_DATA", raising=False)
    assert main(["models", "train", "gz1-morphology", "--out", str(tmp_path / "r")]) == 2
    assert "GALAXY_XAI_DATA" in capsys.readouterr().err


def test_a_recipe_runs_packs_and_resumes(tmp_path, monkeypatch, capsys):
    """bar-length-direct at a tiny size: simulate, train, score, pack; resume is a no-op."""
    from galaxy_xai.zoo import recipe_bars

    monkeypatch.setattr(recipe_bars, "N_TRAIN", 80)
    monkeypatch.setattr(recipe_bars, "N_TEST", 30)
    monkeypatch.setattr(recipe_bars, "EPOCHS_DIRECT", 1)
    monkeypatch.setattr(recipe_bars, "WIDTH", 4)
    out = tmp_path / "recipe"
    args = ["models", "train", "bar-length-direct", "--out", str(out), "--data-root", str(tmp_path)]
    assert main(args) == 0
    card = read_card(out / "model")
    assert card["name"] == "bar-length-direct"
    assert card["test_metrics"]["n"] > 5 and len(card["test_metrics"]["pearson_r_ci95"]) == 2
    assert card["weights_sha256"] == sha256_file(out / "model" / "model.safetensors")
    first = card["weights_sha256"]
    assert main([*args, "--resume"]) == 0  # finished stages are reused, not retrained
    assert read_card(out / "model")["weights_sha256"] == first


def test_bar_sdss_rehearsal_set_mixes_real_and_simulated(tmp_path):
    """The fine-tuning set: every real galaxy, n_sim seeded simulated ones with p_bar = truth."""
    import pandas as pd

    from galaxy_xai.data import open_dataset, write_dataset
    from galaxy_xai.zoo.recipe_bars import rehearsal_set

    n_real = 6
    real = blob_ring_dataset(tmp_path / "real.h5", n=n_real, p_bar=np.linspace(0.1, 0.9, n_real))
    sims = tmp_path / "sims.h5"  # ids unlike the real ones, as in the recipe
    write_dataset(sims, np.random.default_rng(0).random((20, 1, 16, 16), np.float32),
                  pd.DataFrame({"id": [f"sim{i:03d}" for i in range(20)],
                                "barred": np.arange(20) % 2}))  # fmt: skip
    out = rehearsal_set(real, sims, tmp_path / "mixed.h5", n_sim=8, seed=3)
    with open_dataset(out) as ds, open_dataset(sims) as sim_ds:
        cat = ds.catalog
        assert len(cat) == n_real + 8 and ds.images.shape[0] == n_real + 8
        assert list(cat["source"]).count("galaxy-builder") == n_real
        np.testing.assert_allclose(cat["p_bar"][:n_real], np.linspace(0.1, 0.9, n_real))
        truth = dict(zip(sim_ds.catalog["id"].astype(str), sim_ds.catalog["barred"], strict=True))
        simulated = cat[cat["source"] == "simulated"]
        assert all(truth[i] == p for i, p in zip(simulated["id"], simulated["p_bar"], strict=True))
        drawn = list(simulated["id"])
    again = rehearsal_set(real, sims, tmp_path / "again.h5", n_sim=8, seed=3)
    with open_dataset(again) as ds:
        assert list(ds.catalog["id"])[n_real:] == drawn  # seeded: the same draw
    with pytest.raises(ParameterError, match="n_sim"):
        rehearsal_set(real, sims, tmp_path / "bad.h5", n_sim=21)


def test_docs_models_md_is_rendered_from_the_shipped_cards():
    text = (Path(__file__).resolve().parents[1] / "docs" / "models.md").read_text()
    for name in SHIPPED:
        assert render_card(read_card(shipped_dir() / name, name=name)) in text, (
            f"docs/models.md is stale for {name}: run python scripts/render-model-cards.py"
        )


def test_report_models_section_shows_cards_and_survives_a_hostile_card(tmp_path):
    from galaxy_xai.report import build_report, write_model_card

    card = read_card(shipped_dir() / SHIPPED[0], name=SHIPPED[0])
    write_model_card(tmp_path, "good", card=card, title="good model", metrics={"roc_auc": 0.9})
    write_model_card(tmp_path, "bad", card=card, title="bad model")
    (tmp_path / "models" / "bad" / "card.json").write_text('{"name": 3}')
    html = build_report(tmp_path).read_text()
    assert 'id="models-good"' in html and card["weights_sha256"] in html
    assert "roc_auc" in html
    assert "bad" in html and "must be text" in html  # the hostile card is a notice, not a crash


# ---------------------------------------------------------------- hostile archives (review)


def _member_bytes(folder: Path) -> dict[str, bytes]:
    return {n: (folder / n).read_bytes() for n in ("model.safetensors", "model.json", "card.json")}


def _with_card(members: dict[str, bytes], **changes) -> dict[str, bytes]:
    card = json.loads(members["card.json"])
    card.update(changes)
    return {**members, "card.json": json.dumps(card).encode()}


def test_install_refuses_names_that_only_look_valid_and_cards_that_lie(tmp_path, user_zoo):
    from galaxy_xai.zoo.install import install_model

    good = _member_bytes(user_zoo / "tiny-blobs")
    dest = tmp_path / "dest"
    path, digest = _zip(tmp_path / "nl.zip", _with_card(good, name="tiny-blobs\n"))
    with pytest.raises(DataFormatError, match="lower-case letters"):
        install_model(path, digest, models_dir=dest)
    for field, value in (("task", "regression"), ("input_shape", [3, 80, 80]),
                         ("output_names", ["a", "b"])):  # fmt: skip
        path, digest = _zip(tmp_path / f"{field}.zip", _with_card(good, **{field: value}))
        with pytest.raises(ModelMismatchError, match=f"field '{field}'.*does not describe"):
            install_model(path, digest, models_dir=dest)
    path, digest = _zip(tmp_path / "shape.zip", _with_card(good, input_shape=[1]))
    with pytest.raises(ModelMismatchError, match="channels, height, width"):
        install_model(path, digest, models_dir=dest)
    assert not [p for p in dest.iterdir() if not p.name.startswith(".")]


def test_install_reports_damaged_members_and_oversized_cards_in_one_line(tmp_path, user_zoo):
    from galaxy_xai.zoo.install import install_model

    good = _member_bytes(user_zoo / "tiny-blobs")
    path, _ = _zip(tmp_path / "crc.zip", good)
    blob = bytearray(path.read_bytes())
    start = blob.index(b'"name"')  # a byte of card.json's stored (uncompressed) data
    blob[start] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(DataFormatError, match="cannot be read"):
        install_model(path, sha256_file(path), models_dir=tmp_path / "dest")
    big = {**good, "card.md": b"x" * (16 * 2**20 + 1)}
    path, digest = _zip(tmp_path / "big.zip", big)
    with pytest.raises(DataFormatError, match="more than a model's card.md holds"):
        install_model(path, digest, models_dir=tmp_path / "dest")
    assert not list((tmp_path / "dest").iterdir())


def test_install_destinations_that_are_not_folders(tmp_path, user_zoo, capsys, monkeypatch):
    from galaxy_xai.zoo.install import export_model

    archive, digest = export_model("tiny-blobs", tmp_path / "t.zip")
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv("GALAXY_XAI_MODELS", str(afile))
    assert main(["models", "install", str(archive), "--sha256", digest]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    dest = tmp_path / "dest"
    monkeypatch.setenv("GALAXY_XAI_MODELS", str(dest))
    dest.mkdir()
    (dest / "tiny-blobs").write_text("not a model")  # --force replaces a file of that name
    assert main(["models", "install", str(archive), "--sha256", digest, "--force"]) == 0
    assert (dest / "tiny-blobs" / "card.json").is_file()
    assert main(["models", "install", str(tmp_path), "--sha256", digest]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_models_list_skips_a_bad_installed_model_and_shows_the_rest(user_zoo, capsys):
    bad = user_zoo / "broken"
    shutil.copytree(user_zoo / "tiny-blobs", bad)
    (bad / "card.json").write_text("[]")
    assert main(["models", "list"]) == 0
    captured = capsys.readouterr()
    assert "tiny-blobs" in captured.out and "skipped 'broken'" in captured.err
    card = json.loads((user_zoo / "tiny-blobs" / "card.json").read_text())
    card["licence"] = None
    card["test_metrics"]["accuracy_ci95"] = ["a", "b"]
    (user_zoo / "tiny-blobs" / "card.json").write_text(json.dumps(card))
    assert main(["models", "list"]) == 0 and main(["models", "show", "tiny-blobs"]) == 0


def test_gz1_records_checksum_the_labels_and_the_sorted_images(tmp_path):
    from galaxy_xai.zoo.recipe_gz1 import GZ1_FOLDER, gz1_records

    source = tmp_path / GZ1_FOLDER
    (source / "images").mkdir(parents=True)
    (source / "labels.csv").write_text("OBJID,label\n1,0\n2,1\n")
    (source / "images" / "2.jpeg").write_bytes(b"second")
    (source / "images" / "1.jpeg").write_bytes(b"first")
    (source / "images" / "notes.txt").write_text("not an image")
    labels, images = gz1_records(tmp_path)
    assert labels == {"path": f"{GZ1_FOLDER}/labels.csv",
                      "sha256": sha256_file(source / "labels.csv"), "n_images": None,
                      "role": "labels"}  # fmt: skip
    expected = hashlib.sha256(b"1.jpeg" + b"first" + b"2.jpeg" + b"second").hexdigest()
    assert images == {"path": f"{GZ1_FOLDER}/images/*.jpeg", "sha256": expected,
                      "n_images": 2, "role": "images"}  # fmt: skip
