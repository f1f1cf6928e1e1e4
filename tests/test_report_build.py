"""The HTML report: sections, embedded images, numbers beside each figure, missing parts."""

from __future__ import annotations

import base64
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxy_xai.cli import main
from galaxy_xai.errors import DataFormatError, DataMissingError, ParameterError
from galaxy_xai.report import artefacts as art
from galaxy_xai.report import build_report
from galaxy_xai.report.build import OPTIONAL_SECTIONS, SECTION_TITLES
from galaxy_xai.report.figures import bar_agreement, confusion_matrix, reliability_bins

#: The sections every report shows (optional ones appear only with their panels).
SHOWN = {k: v for k, v in SECTION_TITLES.items() if k not in OPTIONAL_SECTIONS}

LABELS = ["disk", "indeterminate", "bulge"]
LAYERS = ["fc", "conv2", "conv1"]


def make_synthetic_run(run: Path, *, seed: int = 0, title: str = "galaxy-xai test run") -> Path:
    """A run folder with every section filled by small synthetic artefacts."""
    rng = np.random.default_rng(seed)
    n, size = 4, 32
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    images, saliency, rows = [], [], []
    for i in range(n):
        angle, length = 30.0 * i, 8.0 + 2 * i
        t = math.radians(angle)
        u = xx * math.cos(t) + yy * math.sin(t)
        v = -xx * math.sin(t) + yy * math.cos(t)
        bar = np.exp(-0.5 * ((u / (length / 2.5)) ** 2 + (v / 1.5) ** 2))
        images.append((np.exp(-np.hypot(xx, yy) / 6) + bar)[None])
        saliency.append(bar)
        rows.append(
            {
                "id": f"sim{i:03d}",
                "caption": "barred",
                "bar_length_px": length + 1.0,
                "bar_angle_deg": angle + 5.0,
                "true_bar_length_px": length,
                "true_bar_angle_deg": angle,
            }
        )
    art.write_gallery(
        run,
        "simulated",
        images=np.stack(images),
        saliency=np.stack(saliency),
        table=pd.DataFrame(rows),
        title="Simulated barred galaxies",
        description="SmoothGrad maps of the bar network",
    )
    true = rng.uniform(5, 30, 40)
    measured = 0.9 * true + rng.normal(0, 2, 40)
    measured[0] = np.nan  # one galaxy without a measurement
    art.write_bars(
        run,
        "simulated",
        table=pd.DataFrame(
            {
                "id": [f"g{i}" for i in range(40)],
                "true_bar_length_px": true,
                "measured_bar_length_px": measured,
                "measured_bar_length_err_px": rng.uniform(0.5, 2, 40),
            }
        ),
        title="Bar lengths vs simulation truth",
        metrics={"pearson_r": 0.9, "pearson_r_ci": [0.85, 0.95]},
    )
    labels = rng.integers(0, 3, 60)
    logits = rng.normal(0, 1, (60, 3))
    logits[np.arange(60), labels] += 1.5
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    art.write_classification(
        run,
        "transfer",
        table=pd.DataFrame(
            {
                "id": [f"g{i}" for i in range(60)],
                "label": labels,
                "pred": p.argmax(1),
                **{f"p_{c}": p[:, k] for k, c in enumerate(LABELS)},
                "uncertainty": -(p * np.log(p)).sum(1),
            }
        ),
        label_names=LABELS,
        title="Transfer test set",
    )
    log = pd.DataFrame(
        {
            "epoch": [0, 0, 1, 1, 2, 2],
            "step": range(6),
            "train_loss": [1.0, np.nan, 0.7, np.nan, 0.5, np.nan],
            "val_loss": [np.nan, 1.1, np.nan, 0.8, np.nan, 0.6],
            "val_accuracy": [np.nan, 0.4, np.nan, 0.6, np.nan, 0.7],
        }
    )
    art.write_training(run, "morphology", metrics=log, title="Morphology network")
    art.write_sanity(
        run,
        "bar-network",
        scores={
            "saliency": {"model_randomisation_spearman": 0.1, "label_randomisation": 0.2},
            "smoothgrad": {"model_randomisation_spearman": 0.15, "label_randomisation": 0.3},
        },
        passed={"saliency": True, "smoothgrad": False},
        title="Sanity checks",
        details={
            "threshold": 0.5,
            "checks": {
                m: {
                    "layers": [{"layer": n, "spearman": r} for n, r in zip(LAYERS, rs, strict=True)]
                }
                for m, rs in (("saliency", (0.6, 0.3, 0.1)), ("smoothgrad", (0.8, 0.5, 0.15)))
            },
        },
    )
    art.write_prototypes(
        run,
        "mtt",
        images=rng.normal(size=(6, 1, 16, 16)),
        labels=[0, 0, 1, 1, 2, 2],
        label_names=LABELS,
        title="MTT prototypes",
        metrics={"distilled_accuracy": 0.6, "random_accuracy": 0.5},
    )
    art.write_run_info(
        run,
        title=title,
        config={"seed": seed, "quick": True},
        provenance={"simulated": {"preset": "sdss", "n": 300}},
        stages=[{"name": "simulate", "seconds": 1.2, "status": "done"}],
        description="A synthetic run for the report tests.",
    )
    return run


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run = make_synthetic_run(tmp_path_factory.mktemp("run"))
    out = build_report(run)
    return out, out.read_text()


def _images(html: str) -> list[Image.Image]:
    found = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    return [Image.open(io.BytesIO(base64.b64decode(b))) for b in found]


def test_every_section_has_its_heading_id_and_toc_entry(built: tuple[Path, str]) -> None:
    _, html = built
    assert "<title>galaxy-xai test run</title>" in html
    for sid, heading in SHOWN.items():
        assert f'<section id="{sid}"><h2>{heading}</h2>' in html
        assert f'<a href="#{sid}">{heading}</a>' in html
    assert 'class="missing"' not in html  # every artefact was there
    assert "<p>A synthetic run for the report tests.</p>" in html


def test_report_is_self_contained_and_images_decode(built: tuple[Path, str]) -> None:
    out, html = built
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from a network
    assert "<script" not in html
    images = _images(html)
    # gallery, bars, confusion, reliability, training, sanity, prototypes
    assert len(images) == 7
    for im in images:
        im.load()
        assert im.format == "PNG" and im.width > 50 and im.height > 50
    assert not list(out.parent.rglob("*.partial"))


def test_every_figure_has_its_numbers_beside_it(built: tuple[Path, str]) -> None:
    out, html = built
    assets = out.parent / "report_assets"
    index = json.loads((assets / "index.json").read_text())
    assert len(index["figures"]) == 7 and index["missing"] == []
    for fig in index["figures"]:
        assert f'href="report_assets/{fig["json"]}"' in html
        data = json.loads((assets / fig["json"]).read_text())
        assert data["figure"] == fig["id"]
        assert (assets / fig["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    bars = json.loads((assets / "bars-simulated.json").read_text())
    table = pd.read_csv(out.parent / "bars" / "simulated" / "measurements.csv")
    ok = table["measured_bar_length_px"].notna()
    t, m = table["true_bar_length_px"][ok], table["measured_bar_length_px"][ok]
    assert bars["n"] == 39 and bars["n_missing"] == 1
    assert bars["pearson_r"] == pytest.approx(np.corrcoef(t, m)[0, 1])
    assert bars["rmse"] == pytest.approx(np.sqrt(np.mean((m - t) ** 2)))
    assert bars["reported_metrics"]["pearson_r_ci"] == [0.85, 0.95]
    assert f"r = {bars['pearson_r']:.3f}" in html or f"{bars['pearson_r']:.4g}" in html

    conf = json.loads((assets / "classification-transfer-confusion.json").read_text())
    preds = pd.read_csv(out.parent / "classification" / "transfer" / "predictions.csv")
    assert np.sum(conf["confusion"]) == len(preds)
    assert conf["accuracy"] == pytest.approx(np.mean(preds["label"] == preds["pred"]))

    sanity = json.loads((assets / "sanity-bar-network.json").read_text())
    assert sanity["threshold"] == 0.5 and sanity["passed"] == {
        "saliency": True,
        "smoothgrad": False,
    }
    assert sanity["cascade"]["smoothgrad"] == {"layer": LAYERS, "spearman": [0.8, 0.5, 0.15]}

    training = json.loads((assets / "training-morphology.json").read_text())
    assert training["epoch"] == [0, 1, 2]  # Lightning's two rows per epoch collapsed
    assert training["series"]["val_loss"] == [1.1, 0.8, 0.6]


def test_gallery_bar_segments_have_the_measured_length_and_angle(built: tuple[Path, str]) -> None:
    out, _ = built
    gallery = json.loads((out.parent / "report_assets" / "gallery-simulated.json").read_text())
    assert gallery["n_shown"] == 4
    for g in gallery["galaxies"]:
        (x0, x1), (y0, y1) = g["measured_segment_px"]
        assert math.hypot(x1 - x0, y1 - y0) == pytest.approx(g["bar_length_px"])
        angle = math.degrees(math.atan2(y1 - y0, x1 - x0)) % 180
        assert angle == pytest.approx(g["bar_angle_deg"] % 180)
        assert np.mean([x0, x1]) == pytest.approx(15.5)  # centred on the image centre


def test_missing_artefacts_give_notices_not_a_crash(tmp_path: Path) -> None:
    out = build_report(tmp_path, tmp_path / "empty.html")
    html = out.read_text()
    for sid in SHOWN:
        assert f'<section id="{sid}">' in html
    assert html.count('class="missing"') == 7 + 1  # 6 sections + provenance, + overview
    assert "run.json" in html and "write_gallery" in html
    assert (tmp_path / "empty_assets" / "index.json").is_file()


def test_unreadable_panel_is_named_and_others_still_render(tmp_path: Path) -> None:
    run = make_synthetic_run(tmp_path / "run")
    bad = run / "bars" / "simulated" / "measurements.csv"
    bad.write_text("id,true_bar_length_px\ng1,3.0\n")
    html = build_report(run).read_text()
    assert html.count('class="missing"') == 2  # the bars notice and the overview summary
    assert "measured_bar_length_px" in html and "bars/simulated/measurements.csv" in html
    assert len(_images(html)) == 6
    assert not (run / "report_assets" / "bars-simulated.json").exists()  # stale asset removed


def test_report_text_from_artefacts_is_escaped(tmp_path: Path) -> None:
    run = make_synthetic_run(tmp_path, title="<script>alert(1)</script> & co")
    html = build_report(run).read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html


def test_build_report_rejects_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match="run folder .*nope.* does not exist"):
        build_report(tmp_path / "nope")
    with pytest.raises(ParameterError, match=r"out=.*report\.txt.*\.html"):
        build_report(tmp_path, tmp_path / "report.txt")


def test_cli_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_synthetic_run(tmp_path / "run")
    assert main(["report", str(run), "--out", str(tmp_path / "r.html")]) == 0
    assert capsys.readouterr().out.strip().endswith("r.html")
    assert (tmp_path / "r_assets" / "bars-simulated.json").is_file()
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


# --------------------------------------------------------------------------- statistics
def test_confusion_matrix_counts() -> None:
    m = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 2, 0]), 3)
    np.testing.assert_array_equal(m, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    with pytest.raises(ParameterError, match="y_true=.*must lie in 0..2"):
        confusion_matrix(np.array([3]), np.array([0]), 3)


def test_reliability_bins_and_ece() -> None:
    # confidence 0.75 everywhere, 3 of 4 right: perfectly calibrated
    calibrated = reliability_bins(np.full(4, 0.75), np.array([1, 1, 1, 0]), n_bins=4)
    assert calibrated["ece"] == pytest.approx(0.0)
    assert calibrated["count"] == [0, 0, 4, 0]
    # always 0.95 confident, right half the time: ECE 0.45
    over = reliability_bins(np.full(10, 0.95), np.arange(10) % 2, n_bins=10)
    assert over["ece"] == pytest.approx(0.45)
    assert over["accuracy"][-1] == pytest.approx(0.5) and over["accuracy"][0] is None
    with pytest.raises(ParameterError, match="n_bins=0"):
        reliability_bins(np.zeros(1), np.zeros(1), n_bins=0)


def test_bar_agreement() -> None:
    true = np.array([5.0, 10.0, 15.0, 20.0, np.nan])
    perfect = bar_agreement(true, true)
    assert perfect["pearson_r"] == pytest.approx(1.0) and perfect["rmse"] == 0.0
    assert perfect["n"] == 4 and perfect["n_missing"] == 1
    shifted = bar_agreement(true, true + 2.0)
    assert shifted["rmse"] == pytest.approx(2.0) and shifted["bias"] == pytest.approx(2.0)
    assert bar_agreement(true[:2], true[:2])["pearson_r"] is None  # too few pairs


# --------------------------------------------------------------------------- writers
def test_writers_reject_bad_input(tmp_path: Path) -> None:
    images = np.zeros((2, 1, 8, 8))
    table = pd.DataFrame({"id": ["a", "b"]})
    with pytest.raises(ParameterError, match="name='bad name'"):
        art.write_gallery(
            tmp_path,
            "bad name",
            images=images,
            saliency=np.zeros((2, 8, 8)),
            table=table,
            title="t",
        )
    with pytest.raises(ParameterError, match=r"saliency=\(2, 4, 4\)"):
        art.write_gallery(
            tmp_path, "g", images=images, saliency=np.zeros((2, 4, 4)), table=table, title="t"
        )
    with pytest.raises(ParameterError, match="table=1: must have one row per image"):
        art.write_gallery(
            tmp_path,
            "g",
            images=images,
            saliency=np.zeros((2, 8, 8)),
            table=table[:1],
            title="t",
        )
    with pytest.raises(ParameterError, match="lacks column.*measured_bar_length_px"):
        art.write_bars(
            tmp_path, "b", table=pd.DataFrame({"id": [], "true_bar_length_px": []}), title="t"
        )
    with pytest.raises(ParameterError, match=r"lacks column.*p_bulge"):
        art.write_classification(
            tmp_path,
            "c",
            table=pd.DataFrame({"id": [], "label": [], "pred": [], "p_disk": []}),
            label_names=["disk", "bulge"],
            title="t",
        )
    with pytest.raises(ParameterError, match="labels=.*must index label_names"):
        art.write_prototypes(
            tmp_path, "p", images=images, labels=[0, 5], label_names=["a", "b"], title="t"
        )
    with pytest.raises(ParameterError, match="scores=.*at least one method"):
        art.write_sanity(tmp_path, "s", scores={}, title="t")
    with pytest.raises(ParameterError, match="needs an 'epoch' column"):
        art.write_training(tmp_path, "t", metrics=pd.DataFrame({"loss": [1.0]}), title="t")
    with pytest.raises(ParameterError, match="section='nope'"):
        art.list_panels(tmp_path, "nope")
    assert not list(tmp_path.rglob("*.npz")) and not list(tmp_path.rglob("*.partial"))


def test_readers_name_the_broken_file(tmp_path: Path) -> None:
    make_synthetic_run(tmp_path)
    (tmp_path / "sanity" / "bar-network" / "sanity.json").write_text('{"scores": 3}')
    with pytest.raises(DataFormatError, match=r"sanity\.json.*field .scores. must be"):
        art.read_sanity(tmp_path, "bar-network")
    (tmp_path / "run.json").write_text("[1, 2]")
    with pytest.raises(DataFormatError, match=r"run\.json.*JSON object"):
        art.read_run_info(tmp_path)
    with pytest.raises(DataMissingError, match=r"gallery\.npz.* does not exist"):
        art.read_gallery(tmp_path, "other")


def test_run_info_records_versions(tmp_path: Path) -> None:
    art.write_run_info(tmp_path, title="t", config={"a": 1}, provenance={})
    info = art.read_run_info(tmp_path)
    for name in ("galaxy-xai", "torch", "galsim", "captum", "lightning", "python"):
        assert info["versions"][name] and info["versions"][name] != "absent"
    html = build_report(tmp_path).read_text()
    assert info["versions"]["torch"] in html and "galsim" in html
