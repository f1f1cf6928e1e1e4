"""The demo's stage machinery: done-markers, fingerprints, resume, --force, bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from galaxy_xai import demo
from galaxy_xai.cli import build_parser, main
from galaxy_xai.errors import DataMissingError, ParameterError


@pytest.fixture
def fake_stages(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Three cheap stages (a -> b, c independent) plus the real report stage."""
    calls = {"a": 0, "b": 0, "c": 0}

    def make(name: str):
        def run(ctx: demo.Context) -> dict:
            calls[name] += 1
            (ctx.stage_dir(name) / "out.txt").write_text(f"{name} seed {ctx.config.seed}")
            return {"provenance": {name: {"what": f"stage {name}"}}} if name == "a" else {}

        return run

    stages = (
        demo.Stage("a", make("a"), ("n_source",)),
        demo.Stage("b", make("b"), ("epochs",), ("a",)),
        demo.Stage("c", make("c"), ("distill_ipc",)),
        demo.STAGES[-1],
    )
    monkeypatch.setattr(demo, "STAGES", stages)
    return calls


def test_stages_run_once_then_resume(
    tmp_path: Path, fake_stages: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="galaxy_xai.demo")
    config = demo.demo_config(quick=True)
    report = demo.run_demo(tmp_path / "run", config)
    assert report == tmp_path / "run" / "report.html" and report.is_file()
    assert fake_stages == {"a": 1, "b": 1, "c": 1}
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("stage 1/4 a ... done in ") for line in lines)
    assert any(line.startswith("stage 4/4 report ... done in ") for line in lines)
    marker = json.loads((tmp_path / "run" / "stages" / "b" / "done.json").read_text())
    assert set(marker) == {"fingerprint", "seconds", "summary"}

    caplog.clear()
    demo.run_demo(tmp_path / "run", config)  # everything finished: nothing reruns
    assert fake_stages == {"a": 1, "b": 1, "c": 1}
    assert any("stage 2/4 b ... skipped" in r.getMessage() for r in caplog.records)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert [s["status"] for s in info["stages"]] == ["resumed"] * 3


def test_interrupted_stage_reruns_with_its_dependents(
    tmp_path: Path, fake_stages: dict[str, int]
) -> None:
    config = demo.demo_config(quick=True)
    demo.run_demo(tmp_path, config)
    (tmp_path / "stages" / "a" / "done.json").unlink()  # as if killed before the marker
    (tmp_path / "stages" / "a" / "half-written.tmp").write_text("junk")
    demo.run_demo(tmp_path, config)
    # a reran (its folder cleared first); b depends on a's unchanged fingerprint: kept
    assert fake_stages == {"a": 2, "b": 1, "c": 1}
    assert not (tmp_path / "stages" / "a" / "half-written.tmp").exists()


def test_changed_settings_rerun_only_affected_stages(
    tmp_path: Path, fake_stages: dict[str, int]
) -> None:
    config = demo.demo_config(quick=True)
    demo.run_demo(tmp_path, config)
    demo.run_demo(tmp_path, demo.DemoConfig(**{**config.__dict__, "n_source": 99}))
    assert fake_stages == {"a": 2, "b": 2, "c": 1}  # b depends on a
    demo.run_demo(tmp_path, demo.DemoConfig(**{**config.__dict__, "n_source": 99}), force=True)
    assert fake_stages == {"a": 3, "b": 3, "c": 2}
    demo.run_demo(tmp_path, demo.demo_config(quick=True, seed=5))  # the seed changes all
    assert fake_stages == {"a": 4, "b": 4, "c": 3}
    assert (tmp_path / "stages" / "a" / "out.txt").read_text() == "a seed 5"


def test_refuses_a_folder_that_is_not_a_demo_run(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(ParameterError, match=r"out=.*non-empty folder that holds no demo run"):
        demo.run_demo(tmp_path, demo.demo_config(quick=True))
    with pytest.raises(ParameterError, match="out=.*is a file"):
        demo.run_demo(tmp_path / "thesis.tex", demo.demo_config(quick=True))
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_demo_config_presets_and_missing_data(tmp_path: Path) -> None:
    quick, full = demo.demo_config(quick=True), demo.demo_config()
    assert quick.quick and not full.quick
    assert quick.n_source < full.n_source and quick.image_size < full.image_size
    assert quick.epochs < full.epochs and quick.distill_iterations < full.distill_iterations
    with pytest.raises(ParameterError, match="seed=-1: must be an integer >= 0"):
        demo.demo_config(seed=-1)
    with pytest.raises(DataMissingError, match="^data folder .*nowhere.* does not exist"):
        demo.demo_config(data=str(tmp_path / "nowhere"))
    stages = [s.name for s in demo.STAGES]
    assert stages[0] == "simulate" and stages[-1] == "report" and "real" in stages
    assert [s.name for s in demo.STAGES if s.real_data] == ["real"]


def test_cli_demo_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(
        ["demo", "--out", "D", "--quick", "--data", "P", "--seed", "3", "--force"]
    )
    assert (args.out, args.quick, args.data, args.seed, args.force) == ("D", True, "P", 3, True)
    assert main(["demo", "--out", str(tmp_path / "d"), "--data", str(tmp_path / "no")]) == 2
    assert "data folder" in capsys.readouterr().err


def test_real_data_results_are_removed_when_a_run_has_no_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def real(ctx: demo.Context) -> dict:
        (ctx.out / "bars" / "galaxy-builder").mkdir(parents=True)
        return {"panels": [["bars", "galaxy-builder"]]}

    stages = (demo.Stage("real", real, ("data",), real_data=True), demo.STAGES[-1])
    monkeypatch.setattr(demo, "STAGES", stages)
    out = tmp_path / "run"
    demo.run_demo(out, demo.demo_config(quick=True, data=str(tmp_path)))
    assert (out / "bars" / "galaxy-builder").is_dir()
    demo.run_demo(out, demo.demo_config(quick=True))
    assert not (out / "bars" / "galaxy-builder").exists()
    assert not (out / "stages" / "real").exists()


def test_bar_model_is_deprecated_and_out_of_the_fingerprints() -> None:
    with pytest.warns(FutureWarning, match="bar_model is deprecated"):
        demo.DemoConfig(bar_model="resnet")
    assert all("bar_model" not in stage.keys for stage in demo.STAGES)
