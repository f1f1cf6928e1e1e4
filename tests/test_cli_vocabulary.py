"""One CLI vocabulary: deprecated spellings, defaults from the config dataclasses,
``--config`` plus overrides, missing subcommands, and the name tables."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml

from galaxy_xai.cli import build_parser, main
from galaxy_xai.cli_types import field_default, show_default


class _Called(Exception):
    """Raised by a stand-in library function, carrying what the command passed it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("called")
        self.args_ = args
        self.kwargs = kwargs


def _capture(*args: Any, **kwargs: Any) -> None:
    raise _Called(*args, **kwargs)


def _yaml(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


# --- missing subcommand ---------------------------------------------------------------


@pytest.mark.parametrize("group", ["data", "models", "bars", "distill", "features"])
def test_missing_subcommand_prints_help_and_exits_2(
    group: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([group]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"usage: galaxy-xai {group}") and "SUBCOMMAND" in out


# --- deprecated spellings ---------------------------------------------------------------


def _parse(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


@pytest.mark.parametrize(
    ("base", "old", "new", "value", "dest"),
    [
        (["train", "--out", "r"], "--model", "--arch", "vgg", "arch"),
        (["train", "--out", "r"], "--target", "--target-col", "a,b", "target_col"),
        (["distill", "buffer", "--data", "d.h5", "--out", "b"], "--target", "--label-col",
         "morph", "label_col"),
        (["workflows", "bar-network", "--out", "bn"], "--architecture", "--arch", "vgg",
         "architecture"),
        (["workflows", "bar-direct", "--data", "d.h5", "--out", "bd"], "--architecture",
         "--arch", "vgg", "architecture"),
    ],
)  # fmt: skip
def test_deprecated_option_warns_and_does_the_same(
    base: list[str], old: str, new: str, value: str, dest: str
) -> None:
    expected = _parse([*base, new, value])
    with pytest.warns(FutureWarning, match=f"'{old}' is deprecated; use '{new}'"):
        args = _parse([*base, old, value])
    assert getattr(args, dest) == value
    assert vars(args) == vars(expected)


def test_train_model_alias_reaches_the_config(tmp_path: Path) -> None:
    """``train --model ARCH`` still chooses the architecture (an unknown one is refused)."""
    with pytest.warns(FutureWarning, match="'--model' is deprecated; use '--arch'"):
        status = main(["train", "--data", str(tmp_path / "no.h5"), "--out",
                       str(tmp_path / "r"), "--model", "no-such-arch"])  # fmt: skip
    assert status == 2


def test_predict_device_is_deprecated_for_accelerator() -> None:
    from galaxy_xai.train.commands import _device

    base = ["predict", "--model", "run", "--data", "d.h5", "--out", "p.csv"]
    assert _device(_parse(base)) is None
    assert _device(_parse([*base, "--accelerator", "gpu"])) == "cuda"
    assert _device(_parse([*base, "--accelerator", "cpu"])) == "cpu"
    with pytest.warns(FutureWarning, match="'--device' is deprecated; use '--accelerator'"):
        assert _device(_parse([*base, "--device", "cuda:1"])) == "cuda:1"


def test_explain_no_resume_is_a_deprecated_no_op() -> None:
    base = ["explain", "--model", "r", "--data", "d.h5", "--out", "m.h5"]
    with pytest.warns(FutureWarning, match="'--no-resume' is deprecated; use 'no flag: "):
        args = _parse([*base, "--no-resume"])
    assert vars(args) == vars(_parse(base)) and args.resume is False
    assert _parse([*base, "--resume"]).resume is True


def test_top_level_join_is_data_join(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(tmp_path / "a.h5"), str(tmp_path / "b.h5"), "--out", str(tmp_path / "j.h5")]
    assert main(["data", "join", *argv]) == 2
    new_err = capsys.readouterr().err
    with pytest.warns(
        FutureWarning, match="'galaxy-xai join' is deprecated; use 'galaxy-xai data join'"
    ):
        assert main(["join", *argv]) == 2
    old_err = capsys.readouterr().err
    assert old_err and old_err.replace("galaxy-xai join", "galaxy-xai data") == new_err


# --- defaults in one place ---------------------------------------------------------------


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += _subparsers(sub)
    return found


def test_help_shows_each_tied_default_and_argparse_holds_none() -> None:
    tied = 0
    for parser in _subparsers(build_parser()):
        text = " ".join(parser.format_help().split())
        for action in parser._actions:
            source = getattr(action, "default_source", None)
            if source is None:
                continue
            tied += 1
            assert action.default is None, (parser.prog, action.dest)
            shown = show_default(field_default(*source))
            assert f"(default: {shown})" in text, (parser.prog, action.dest, shown)
    assert tied > 60


def test_explain_options_are_tied_to_explain_config_and_method_options() -> None:
    from galaxy_xai.explain.commands import _FIELDS

    (explain,) = [p for p in _subparsers(build_parser()) if p.prog == "galaxy-xai explain"]
    actions = {a.dest: a for a in explain._actions}
    for dest in _FIELDS:  # every config option is None unless given, tied or not
        assert actions[dest].default is None, dest
    sources = {a.dest: getattr(a, "default_source", None) for a in explain._actions}
    config = "galaxy_xai.explain.dataset:ExplainConfig"
    assert sources["n_samples"] == (config, "n_samples") and sources["n"] == (config, "checks.n")
    assert sources["n_steps"] == (
        "galaxy_xai.explain.methods:IntegratedGradientsOptions",
        "n_steps",
    )
    assert actions["n_steps"].default is None and actions["layer"].default is None
    text = " ".join(explain.format_help().split())
    for shown in ("(default: smoothgrad)", "(default: 50)", "(default: 0.15)",
                  "(default: 32)", "(default: cascading)"):  # fmt: skip
        assert shown in text, shown


def test_explain_config_defaults_are_the_functions_defaults() -> None:
    from galaxy_xai.explain.dataset import (
        CheckConfig,
        ExplainConfig,
        explain_dataset,
        run_checks,
    )
    from galaxy_xai.explain.methods import NoiseTunnelOptions

    for cls, func in ((ExplainConfig, explain_dataset), (CheckConfig, run_checks)):
        params = inspect.signature(func).parameters
        for f in dataclasses.fields(cls):
            if f.name not in ("method_options", "checks"):
                assert f.default == params[f.name].default, (cls.__name__, f.name)
    noise = NoiseTunnelOptions()
    assert (ExplainConfig.noise_level, ExplainConfig.n_samples) == (
        noise.noise_level,
        noise.n_samples,
    )


def test_help_default_is_the_dataclass_default(capsys: pytest.CaptureFixture[str]) -> None:
    from galaxy_xai.distill.buffer import BufferConfig

    with pytest.raises(SystemExit) as exc:
        main(["distill", "buffer", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"epochs per expert (default: {BufferConfig().epochs})" in text
    assert "(default: 50)" in text and "(default: label)" in text


# --- --config plus overrides ---------------------------------------------------------------


def test_data_import_config_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import galaxy_xai.data.importer as importer

    monkeypatch.setattr(importer, "import_dataset", _capture)
    config = _yaml(tmp_path, {"size": 64, "crop": 0.5, "channels": "rgb"})
    with pytest.raises(_Called) as got:
        main(["data", "import", "folder", "src", "--out", "o.h5", "--config", config,
              "--crop", "0.8", "--keep-masked"])  # fmt: skip
    kwargs = got.value.kwargs
    assert (kwargs["size"], kwargs["crop"], kwargs["channels"]) == (64, 0.8, "rgb")
    assert kwargs["zero_masked"] is False and kwargs["workers"] == 1 and not kwargs["resume"]


def test_import_config_defaults_are_import_dataset_defaults() -> None:
    from galaxy_xai.data.import_config import ImportConfig
    from galaxy_xai.data.importer import import_dataset

    params = inspect.signature(import_dataset).parameters
    for f in dataclasses.fields(ImportConfig):
        assert f.default == params[f.name].default, f.name


def test_feature_configs_are_the_functions_defaults() -> None:
    from galaxy_xai.features import catalog

    for cls, func in ((catalog.FeatureCalibrateConfig, catalog.calibrate_files),
                      (catalog.FeatureMeasureConfig, catalog.measure_files)):  # fmt: skip
        params = inspect.signature(func).parameters
        for f in dataclasses.fields(cls):
            assert f.default == params[f.name].default, (cls.__name__, f.name)


def test_distill_buffer_config_and_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import galaxy_xai.distill.buffer as buffer

    monkeypatch.setattr(buffer, "train_experts", _capture)
    config = _yaml(tmp_path, {"experts": 3, "epochs": 7, "target": "morph"})
    with pytest.raises(_Called) as got:
        main(["distill", "buffer", "--data", "d.h5", "--out", "b", "--config", config,
              "--epochs", "9", "--zca"])  # fmt: skip
    cfg = got.value.args_[2]
    assert (cfg.experts, cfg.epochs, cfg.target, cfg.zca) == (3, 9, "morph", True)
    assert cfg.lr_teacher == buffer.BufferConfig().lr_teacher


def test_distill_run_config_and_override_nested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import galaxy_xai.distill.mtt as mtt

    monkeypatch.setattr(mtt, "distill", _capture)
    config = _yaml(tmp_path, {"iterations": 40, "lr_img": 10.0, "stm": {"decay_every": 7}})
    with pytest.raises(_Called) as got:
        main(["distill", "run", "--buffer", "b", "--ipc", "2", "--out", "r", "--config", config,
              "--lr-img", "20", "--stm-lr-floor", "0.5"])  # fmt: skip
    cfg = got.value.args_[2]
    assert (cfg.ipc, cfg.iterations, cfg.lr_img) == (2, 40, 20.0)
    assert (cfg.stm.decay_every, cfg.stm.lr_floor) == (7, 0.5)
    assert cfg.stm.test_every == mtt.STMConstants().test_every


def test_distill_evaluate_config_and_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import galaxy_xai.distill.evaluate as evaluate

    monkeypatch.setattr(evaluate, "evaluate_distilled", _capture)
    config = _yaml(tmp_path, {"runs": 2, "epochs": 11, "baselines": ["mean"]})
    with pytest.raises(_Called) as got:
        main(["distill", "evaluate", "--distilled", "d", "--out", "e.json", "--config", config,
              "--epochs", "12", "--saliency", "none"])  # fmt: skip
    cfg = got.value.kwargs["config"]
    assert (cfg.runs, cfg.epochs, cfg.baselines, cfg.saliency) == (2, 12, ("mean",), None)
    with pytest.raises(_Called) as got:
        main(["distill", "evaluate", "--distilled", "d", "--out", "e.json"])
    assert got.value.kwargs["config"] == evaluate.EvalConfig()


@pytest.mark.parametrize("step", ["calibrate", "measure"])
def test_features_config_and_override(
    step: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import galaxy_xai.features as features

    monkeypatch.setattr(features, f"{step}_files", _capture)
    monkeypatch.setattr(features, "load_bulge_calibration", lambda path: "cal")
    config = _yaml(tmp_path, {"n_draws": 3, "n_samples": 4, "target": "bulge"})
    extra = ["--calibration", "c.json"] if step == "measure" else ["--bt-col", "bt"]
    with pytest.raises(_Called) as got:
        main(["features", step, "--maps", "m.h5", "--data", "d.h5", "--out", "o",
              "--config", config, "--samples", "5", *extra])  # fmt: skip
    kwargs = got.value.kwargs
    assert (kwargs["n_draws"], kwargs["n_samples"], kwargs["target"], kwargs["seed"]) == (
        3,
        5,
        "bulge",
        0,
    )
    if step == "calibrate":
        assert kwargs["bt_col"] == "bt" and kwargs["radius_col"] == "bulge_half_light_radius_arcsec"


def test_models_train_config_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import galaxy_xai.zoo.recipes as recipes

    monkeypatch.setattr(recipes, "data_root_from_env", _capture)
    config = _yaml(tmp_path, {"data_root": "from-file", "threads": 2})
    with pytest.raises(_Called) as got:
        main(["models", "train", "gz1-morphology", "--out", str(tmp_path / "r"),
              "--config", config, "--data-root", "from-cli"])  # fmt: skip
    assert got.value.args_ == ("from-cli",)
    with pytest.raises(_Called) as got:
        main(["models", "train", "gz1-morphology", "--out", str(tmp_path / "r"),
              "--config", config])  # fmt: skip
    assert got.value.args_ == ("from-file",)


def test_demo_config_over_quick_and_options_over_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import galaxy_xai.demo as demo
    from galaxy_xai.demo.config import QUICK

    monkeypatch.setattr(demo, "run_demo", _capture)
    config = _yaml(tmp_path, {"epochs": 2, "seed": 5})
    with pytest.raises(_Called) as got:
        main(["demo", "--out", str(tmp_path / "d"), "--quick", "--config", config, "--seed", "7"])
    cfg = got.value.args_[1]
    assert (cfg.epochs, cfg.seed, cfg.n_source) == (2, 7, QUICK["n_source"])


def test_simulate_config_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import galaxy_xai.simulate.suite as suite

    monkeypatch.setattr(suite, "simulate_dataset", _capture)
    config = _yaml(tmp_path, {"size": 48, "bar_fraction": 0.2})
    with pytest.raises(_Called) as got:
        main(["simulate", "--out", "s.h5", "--n", "3", "--config", config, "--size", "32"])
    cfg = got.value.kwargs["config"]
    assert (cfg.size, cfg.bar_fraction, cfg.preset) == (32, 0.2, "sdss")
    assert "seed" not in got.value.kwargs and "workers" not in got.value.kwargs


def test_explain_config_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import galaxy_xai.explain.dataset as dataset
    import galaxy_xai.models.trained as trained

    monkeypatch.setattr(trained, "load_model", lambda path, **kwargs: path)
    monkeypatch.setattr(dataset, "explain_dataset", _capture)
    monkeypatch.setattr(dataset, "run_checks", _capture)
    config = _yaml(tmp_path, {"method": "integrated_gradients", "n_samples": 7, "seed": 3,
                              "keep_channels": True, "target": "bar",
                              "method_options": {"n_steps": 9, "window_px": 4},
                              "checks": {"n": 5, "methods": ["gradient"]}})  # fmt: skip
    base = ["explain", "--model", "r", "--data", "d.h5", "--config", config]
    with pytest.raises(_Called) as got:
        main([*base, "--out", "m.h5", "--seed", "4", "--window-px", "6"])
    kwargs = got.value.kwargs
    assert (kwargs["method"], kwargs["n_samples"], kwargs["seed"], kwargs["target"]) == (
        "integrated_gradients",
        7,
        4,
        "bar",
    )
    assert kwargs["keep_channels"] is True and kwargs["resume"] is False
    assert (kwargs["n_steps"], kwargs["window_px"]) == (9, 6)  # file, then the option
    assert kwargs["noise_level"] == dataset.ExplainConfig().noise_level
    with pytest.raises(_Called) as got:
        main([*base, "--out", "c.json", "--check", "--sanity-mode", "full"])
    kwargs = got.value.kwargs
    assert (kwargs["n"], kwargs["methods"], kwargs["sanity_mode"], kwargs["seed"]) == (
        5,
        ("gradient",),
        "full",
        3,
    )
    with pytest.raises(_Called) as got:  # no file: the CLI passes what it always passed
        main(["explain", "--model", "r", "--data", "d.h5", "--out", "m.h5"])
    kwargs = got.value.kwargs
    assert (kwargs["method"], kwargs["n_samples"], kwargs["noise_level"]) == (
        "smoothgrad",
        50,
        0.15,
    )
    assert kwargs["n_steps"] == 50 and "layer" not in kwargs and kwargs["resume"] is False


def test_bars_calibrate_config_and_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import galaxy_xai.bars.catalog as catalog
    from galaxy_xai.bars import CalibrationGrid

    monkeypatch.setattr(catalog, "calibrate_files", _capture)
    config = _yaml(tmp_path, {"truth_col": "len", "objective": "pearson", "cv_folds": 3,
                              "grid": {"corr_thresholds": [0.75], "smooth_sigma_px": [0]}})  # fmt: skip
    base = ["bars", "calibrate", "--maps", "m.h5", "--data", "d.h5", "--out", "c.json"]
    with pytest.raises(_Called) as got:
        main([*base, "--config", config, "--min-pixels", "10,20", "--no-fit-scale",
              "--cv-seed", "4", "--objective", "rmse"])  # fmt: skip
    kwargs = got.value.kwargs
    assert (kwargs["truth_col"], kwargs["objective"], kwargs["cv_folds"], kwargs["cv_seed"]) == (
        "len", "rmse", 3, 4,
    )  # fmt: skip
    assert kwargs["grid"] == CalibrationGrid(
        corr_thresholds=(0.75,), min_pixels=(10, 20), smooth_sigma_px=(0.0,), fit_scale=False
    )
    with pytest.raises(_Called) as got:
        main(base)
    kwargs = got.value.kwargs
    assert kwargs["grid"] == CalibrationGrid() and kwargs["objective"] == "rmse"
    assert (kwargs["truth_col"], kwargs["cv_folds"], kwargs["cv_seed"]) == (
        "bar_length_px",
        None,
        0,
    )


def test_bars_calibrate_config_refuses_a_bad_grid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["bars", "calibrate", "--maps", "m.h5", "--data", "d.h5", "--out", "c.json"]
    config = _yaml(tmp_path, {"grid": {"min_pixels": [2]}})
    assert main([*base, "--config", config]) == 2
    assert "min_pixels=2: each must be an integer >= 3" in capsys.readouterr().err
    config = _yaml(tmp_path, {"grid": {"min_pixel": [20]}})
    assert main([*base, "--config", config]) == 2
    assert "unknown key(s) 'min_pixel'" in capsys.readouterr().err


def test_bars_calibrate_config_defaults_are_calibrate_files_defaults() -> None:
    from galaxy_xai.bars import CalibrationGrid
    from galaxy_xai.bars.catalog import BarCalibrateConfig, calibrate_files

    params = inspect.signature(calibrate_files).parameters
    config = BarCalibrateConfig()
    for f in dataclasses.fields(config):
        expected = params[f.name].default
        if f.name == "grid":  # None: the default grid
            assert expected is None and config.grid == CalibrationGrid()
        else:
            assert getattr(config, f.name) == expected, f.name


def test_bars_measure_and_evaluate_defaults_are_the_library_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import galaxy_xai.bars.catalog as catalog
    import galaxy_xai.bars.evaluate as evaluate
    from galaxy_xai.bars import BarParams

    monkeypatch.setattr(catalog, "measure_catalog", _capture)
    base = ["bars", "measure", "--maps", "m.h5", "--out", "b.csv"]
    with pytest.raises(_Called) as got:
        main(base)
    assert got.value.kwargs["params"] == BarParams()
    assert "cosmology" not in got.value.kwargs and "require_arcsec" not in got.value.kwargs
    with pytest.raises(_Called) as got:
        main([*base, "--smooth", "1.5", "--multiply", "--cosmology", "WMAP9", "--require-arcsec"])
    kwargs = got.value.kwargs
    assert kwargs["params"] == BarParams(smooth_sigma_px=1.5, multiply=True)
    assert (kwargs["cosmology"], kwargs["require_arcsec"]) == ("WMAP9", True)

    # wraps: the stand-in keeps evaluate_files' signature, where the command reads defaults
    monkeypatch.setattr(
        evaluate, "evaluate_files", functools.wraps(evaluate.evaluate_files)(_capture)
    )
    base = ["bars", "evaluate", "--pred", "b.csv", "--truth", "t.csv", "--length-col", "len",
            "--out", "e.json"]  # fmt: skip
    with pytest.raises(_Called) as got:
        main(base)
    assert not {"id_col", "pred_col", "n_boot", "seed"} & set(got.value.kwargs)
    assert got.value.kwargs["unit"] == "px"
    with pytest.raises(_Called) as got:
        main([*base, "--pred-col", "bar_length_kpc", "--n-boot", "300", "--seed", "2"])
    kwargs = got.value.kwargs
    assert (kwargs["pred_col"], kwargs["n_boot"], kwargs["seed"], kwargs["unit"]) == (
        "bar_length_kpc", 300, 2, "kpc",
    )  # fmt: skip


# --- name tables -------------------------------------------------------------------------


def test_name_tables_match_their_users() -> None:
    from galaxy_xai import names
    from galaxy_xai.data.readers import READERS
    from galaxy_xai.models import available_models
    from galaxy_xai.models.heads import TASKS
    from galaxy_xai.train.transfer import PRESETS

    assert tuple(READERS) == names.IMPORT_FORMATS
    assert available_models() == sorted(names.ARCHITECTURES)
    assert PRESETS == names.TRANSFER_PRESETS == ("sdss", "candels")
    assert TASKS == names.TASKS


def test_choices_come_from_the_tables() -> None:
    from galaxy_xai import names
    from galaxy_xai.simulate.config import RENDERINGS

    def option(argv: list[str], flag: str) -> argparse.Action:
        parser = build_parser()
        for name in argv:
            sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            parser = sub.choices[name]
        return next(a for a in parser._actions if flag in a.option_strings)

    assert tuple(option(["train"], "--task").choices) == names.TASKS
    assert tuple(option(["train"], "--transfer-preset").choices) == names.TRANSFER_PRESETS
    assert tuple(option(["simulate"], "--rendering").choices) == RENDERINGS
    imp = build_parser().parse_args(["data", "import", "gz1", "s", "--out", "o.h5"])
    assert imp.format == "gz1"


def test_gz1_morphology_map_is_defined_once_and_covers_every_leaf_class() -> None:
    from benchmarks.gz1_classify import CLASS_MAP

    from galaxy_xai.data.readers.gz1 import GZ1_CLASS_NAMES, GZ1_MORPHOLOGY_MAP
    from galaxy_xai.distill.data import CLASS_MAP_PRESETS
    from galaxy_xai.zoo.recipe_gz1 import GZ1_CLASS_MAP

    assert list(GZ1_MORPHOLOGY_MAP) == list(range(len(GZ1_CLASS_NAMES)))
    assert GZ1_MORPHOLOGY_MAP[GZ1_CLASS_NAMES.index("don't know")] is None
    assert CLASS_MAP is GZ1_MORPHOLOGY_MAP
    assert {str(k): v for k, v in GZ1_MORPHOLOGY_MAP.items()} == GZ1_CLASS_MAP
    assert CLASS_MAP_PRESETS["gz1-4"] == {
        0: "elliptical",
        1: "spiral",
        2: "spiral",
        3: "edge-on",
        5: "merger",
    }


def test_workflow_configs_are_the_functions_defaults() -> None:
    from galaxy_xai.workflows import bar_direct, bar_network

    for cls, func in ((bar_network.BarNetworkConfig, bar_network.train_bar_network),
                      (bar_direct.BarDirectConfig, bar_direct.train_direct_regressor)):  # fmt: skip
        params = inspect.signature(func).parameters
        for f in dataclasses.fields(cls):
            assert f.default == params[f.name].default, (cls.__name__, f.name)


@pytest.mark.parametrize("spelling", [["workflows", "bar-network"], ["bars", "train-network"]])
def test_bar_network_config_resume_and_override(
    spelling: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warnings

    import galaxy_xai.workflows.bar_network as bar_network

    monkeypatch.setattr(bar_network, "train_bar_network", _capture)
    config = _yaml(tmp_path, {"n_sim": 300, "epochs": 4, "finetune_col": "p_strong_bar"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the old spelling warns (tested above)
        with pytest.raises(_Called) as got:
            main([*spelling, "--out", "bn", "--config", config, "--epochs", "6", "--resume"])
    kwargs = got.value.kwargs
    assert (kwargs["n_sim"], kwargs["epochs"], kwargs["finetune_col"]) == (300, 6, "p_strong_bar")
    assert kwargs["resume"] is True
    assert kwargs["size"] == bar_network.BarNetworkConfig().size


def test_bar_direct_refuses_predict_without_pred_out_before_training(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import galaxy_xai.workflows.bar_direct as bar_direct

    monkeypatch.setattr(bar_direct, "train_direct_regressor", _capture)
    argv = ["workflows", "bar-direct", "--data", "d.h5", "--out", "bd", "--predict", "x.h5"]
    assert main(argv) == 2
    assert "--pred-out" in capsys.readouterr().err
