"""``galaxy-xai demo --quick``: the whole chain on tiny simulations, then its report."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from galaxy_xai.cli import main
from galaxy_xai.data import open_dataset
from galaxy_xai.demo.config import QUICK
from galaxy_xai.report.build import OPTIONAL_SECTIONS, SECTION_TITLES

#: The sections every report shows (optional ones appear only with their panels).
SHOWN = {k: v for k, v in SECTION_TITLES.items() if k not in OPTIONAL_SECTIONS}


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``galaxy-xai demo --quick`` run shared by the tests of this file."""
    import torch

    torch.set_num_threads(1)  # as the tests' autouse fixture: results depend on threads
    out = tmp_path_factory.mktemp("demo") / "demo"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["demo", "--out", str(out), "--quick", "--seed", "1"]) == 0
    assert printed.getvalue().strip() == str(out / "report.html")
    return out


def test_quick_demo_produces_a_complete_report_and_resumes(
    quick_demo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = quick_demo
    html = (out / "report.html").read_text()

    # every section, with no "missing" notice: the demo produces every artefact
    assert "<title>galaxy-xai demo (quick)</title>" in html
    for sid, heading in SHOWN.items():
        assert f'<section id="{sid}"><h2>{heading}</h2>' in html
    assert 'class="missing"' not in html
    pngs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(pngs) >= 12
    for b64 in pngs:
        assert Image.open(io.BytesIO(base64.b64decode(b64))).size[0] > 50

    assets = out / "report_assets"
    index = json.loads((assets / "index.json").read_text())
    assert index["missing"] == [] and len(index["figures"]) == len(pngs)
    for fig in index["figures"]:
        assert (assets / fig["json"]).is_file()

    # bars: measured on held-out barred galaxies against the simulation truth
    bars = json.loads((assets / "bars-simulated.json").read_text())
    assert bars["n"] >= 5 and bars["rmse"] is not None and bars["rmse"] > 0
    assert np.isfinite(bars["reported_metrics"]["pearson_r_ci_low"])
    # with its no-saliency control from the same run, and the share measured with flag ok
    bar_summary = json.loads((out / "stages" / "bars" / "done.json").read_text())["summary"]
    assert 0 <= bar_summary["frac_flag_ok"] <= 1
    assert "image_only pearson_r" in bars["reported_metrics"]
    assert bar_summary["image_only_pearson_r"] == bars["reported_metrics"]["image_only pearson_r"]
    gallery = json.loads((assets / "gallery-simulated.json").read_text())
    assert gallery["galaxies"] and all(g["true_bar_length_px"] > 0 for g in gallery["galaxies"])
    # classification: MC-dropout predictions of three networks
    for panel, k in (("1-simulated", 3), ("2-transfer", 3), ("3-bar-network", 2)):
        conf = json.loads((assets / f"classification-{panel}-confusion.json").read_text())
        assert np.asarray(conf["confusion"]).shape == (k, k) and conf["n"] > 0
        rel = json.loads((assets / f"classification-{panel}-reliability.json").read_text())
        assert 0 <= rel["ece"] <= 1 and "mean_uncertainty_correct" in rel
    sanity = json.loads((assets / "sanity-bar-network.json").read_text())
    assert sanity["methods"] == ["gradient", "smoothgrad"]
    prototypes = json.loads((assets / "distillation-stm.json").read_text())
    assert prototypes["per_class"] == {"disk": 2, "indeterminate": 2, "bulge": 2}
    assert 0 <= prototypes["metrics"]["distilled_accuracy"] <= 1

    info = json.loads((out / "run.json").read_text())
    assert info["config"]["seed"] == 1 and info["config"]["quick"] is True
    assert {
        "simulated training set",
        "simulated bar training set",
        "simulated labelled (transfer) set",
    } <= set(info["provenance"])
    # the bar network learns and is tested on disk galaxies (those Galaxy Zoo asks the
    # bar question of), half barred; the morphology set keeps the whole population
    with open_dataset(out / "stages" / "simulate" / "bar_train.h5") as ds:
        disks = ds.catalog
    with open_dataset(out / "stages" / "simulate" / "source.h5") as ds:
        population = ds.catalog
    assert len(disks) == QUICK["n_bar_train"]
    assert disks["bulge_to_total"].max() <= 0.5 and population["bulge_to_total"].max() > 0.5
    assert np.cos(np.radians(disks["inclination_deg"])).min() >= 0.35 - 1e-9
    assert 0.3 < disks["barred"].mean() < 0.7
    bar_run = yaml.safe_load((out / "stages" / "train_bars" / "run" / "config.yaml").read_text())
    assert Path(bar_run["config"]["data"]["path"]).name == "bar_train.h5"
    assert bar_run["config"]["transfer"]["checkpoint"] == "zoo:bar-sdss"
    assert bar_run["config"]["optim"]["schedule"] == "cosine"  # the others keep "none"
    morph_run = out / "stages" / "train_morphology" / "run" / "config.yaml"
    assert yaml.safe_load(morph_run.read_text())["config"]["optim"]["schedule"] == "none"
    assert [s["name"] for s in info["stages"]] == [
        "simulate", "train_morphology", "train_bars", "transfer", "predict", "explain",
        "bars", "distill", "features", "zoo",
    ]  # fmt: skip
    # bulge B/T and radius from the morphology network's maps, with controls
    assert 'id="features-simulated"' in html
    features = json.loads((out / "stages" / "features" / "done.json").read_text())["summary"]
    for method in ("saliency", "image_only", "size", "direct"):
        assert -1 <= features["metrics"][f"pearson_r_bt_{method}"] <= 1
    # the shipped models, scored on fresh simulations, each with its card in the report
    for name in ("bar-sdss", "bar-length-direct", "gamornet-sdss", "gz1-morphology"):
        assert f'id="models-{name}"' in html
    zoo = json.loads((out / "stages" / "zoo" / "done.json").read_text())["summary"]["figures"]
    assert 0.5 <= zoo["bar-sdss"]["roc_auc"] <= 1 and zoo["bar-sdss"]["n_simulated"] > 0
    assert np.isfinite(zoo["bar-length-direct"]["pearson_r"])
    assert 0 <= zoo["gamornet-sdss"]["indeterminate"] <= 1

    # a rerun resumes: every finished stage is skipped, the report is rebuilt the same
    caplog.set_level(logging.INFO, logger="galaxy_xai.demo")
    t0 = time.perf_counter()
    assert main(["demo", "--out", str(out), "--quick", "--seed", "1"]) == 0
    assert time.perf_counter() - t0 < 30
    messages = [r.getMessage() for r in caplog.records]
    assert sum("skipped (finished earlier" in m for m in messages) == 10
    assert json.loads((assets / "bars-simulated.json").read_text())["rmse"] == bars["rmse"]

    # seeded: retraining the bar network and redoing its maps gives the same bar lengths
    for stage in ("train_bars", "explain", "bars"):
        (out / "stages" / stage / "done.json").unlink()
    caplog.clear()
    assert main(["demo", "--out", str(out), "--quick", "--seed", "1"]) == 0
    assert sum("skipped (finished earlier" in r.getMessage() for r in caplog.records) == 7
    again = json.loads((assets / "bars-simulated.json").read_text())
    assert again["points"] == bars["points"] and again["rmse"] == bars["rmse"]


def test_quick_demo_with_real_data(quick_demo: Path, real_data: Path, tmp_path: Path) -> None:
    """--data adds Galaxy Zoo 1 transfer and Galaxy Builder bars; other stages resume."""
    out = tmp_path / "demo"
    shutil.copytree(quick_demo, out)
    assert (
        main(["demo", "--out", str(out), "--quick", "--seed", "1", "--data", str(real_data)]) == 0
    )
    info = json.loads((out / "run.json").read_text())
    status = {s["name"]: s["status"] for s in info["stages"]}
    assert status.pop("real") == "ran" and set(status.values()) == {"resumed"}
    assert {"Galaxy Zoo 1 (real)", "Galaxy Builder (real)"} <= set(info["provenance"])
    html = (out / "report.html").read_text()
    assert 'class="missing"' not in html
    assets = out / "report_assets"
    gz1 = json.loads((assets / "classification-4-gz1-confusion.json").read_text())
    assert gz1["label_names"] == ["bulge", "disk"] and gz1["n"] > 10
    gzb = json.loads((assets / "bars-galaxy-builder.json").read_text())
    assert gzb["n"] + gzb["n_missing"] >= 20  # Galaxy Builder galaxies with a bar model
    assert (assets / "gallery-galaxy-builder.json").is_file()
