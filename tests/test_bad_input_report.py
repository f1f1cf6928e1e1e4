"""Broken run folders: the report names each broken panel and still renders the rest.

A run folder may come from someone else. Every way a panel's files can be broken (not
UTF-8, not JSON, fields of the wrong type, truncated archives, text in number columns,
links out of the folder) must become a "missing" notice naming the file, never a crash.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from galaxy_xai.cli import main
from galaxy_xai.errors import DataFormatError
from galaxy_xai.report import artefacts as art
from galaxy_xai.report.build import build_report
from test_report_build import make_synthetic_run

READERS: dict[str, Callable[[Path, str], object]] = {
    "gallery": lambda run, _: art.read_gallery(run, "simulated"),
    "bars": lambda run, _: art.read_bars(run, "simulated"),
    "classification": lambda run, _: art.read_classification(run, "transfer"),
    "training": lambda run, _: art.read_training(run, "morphology"),
    "sanity": lambda run, _: art.read_sanity(run, "bar-network"),
    "distillation": lambda run, _: art.read_prototypes(run, "mtt"),
    "provenance": lambda run, _: art.read_run_info(run),
}

SUMMARIES = {
    "gallery": "gallery/simulated/summary.json",
    "bars": "bars/simulated/summary.json",
    "classification": "classification/transfer/summary.json",
    "training": "training/morphology/summary.json",
    "sanity": "sanity/bar-network/summary.json",
    "distillation": "distillation/mtt/summary.json",
}
TABLES = {
    "gallery": "gallery/simulated/gallery.csv",
    "bars": "bars/simulated/measurements.csv",
    "classification": "classification/transfer/predictions.csv",
    "training": "training/morphology/metrics.csv",
}
ARCHIVES = {
    "gallery": "gallery/simulated/gallery.npz",
    "distillation": "distillation/mtt/prototypes.npz",
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_synthetic_run(tmp_path_factory.mktemp("base") / "run")


def _broken_run(base: Path, tmp_path: Path, mutate: Callable[[Path], None]) -> Path:
    run = tmp_path / "run"
    shutil.copytree(base, run)
    mutate(run)
    return run


def _notices(run: Path) -> list[dict[str, str]]:
    build_report(run)
    return json.loads((run / "report_assets" / "index.json").read_text())["missing"]


def _one_notice_naming(run: Path, section: str, needle: str) -> None:
    """The whole report: one notice for the broken section, the rest renders."""
    notices = [n for n in _notices(run) if n["section"] == section]
    assert len(notices) == 1, notices
    assert needle in notices[0]["message"], notices[0]["message"]


def _refused(run: Path, section: str, needle: str) -> str:
    """The section's reader (what the report calls) raises the package's error."""
    with pytest.raises(DataFormatError) as info:
        READERS[section](run, section)
    assert needle in str(info.value), str(info.value)
    return str(info.value)


@pytest.mark.parametrize("section", sorted(SUMMARIES))
@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"title": "\xff\xfe"}', "not valid UTF-8"),
        (b'{"title": ', "not valid JSON"),
        (b"[1, 2]", "must hold a JSON object"),
        (json.dumps({"title": ["a"]}).encode(), "field 'title' must be text"),
        (json.dumps({"description": 3}).encode(), "field 'description' must be text"),
        (json.dumps({"title": "t", "metrics": [1]}).encode(), "field 'metrics' must be an object"),
        (json.dumps({"title": "t", "details": "x"}).encode(), "field 'details' must be an object"),
        (json.dumps({"label_names": [1, {}]}).encode(), "'label_names' must be a list of text"),
    ],
)
def test_broken_summary_is_a_notice(
    section: str, content: bytes, needle: str, base: Path, tmp_path: Path
) -> None:
    run = _broken_run(base, tmp_path, lambda r: (r / SUMMARIES[section]).write_bytes(content))
    assert SUMMARIES[section] in _refused(run, section, needle)


def test_null_title_falls_back_to_the_panel_name(base: Path, tmp_path: Path) -> None:
    path = SUMMARIES["bars"]
    run = _broken_run(base, tmp_path, lambda r: (r / path).write_text('{"title": null}'))
    assert art.read_bars(run, "simulated").title == "simulated"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"title": "\xff"}', "not valid UTF-8"),
        (json.dumps({"title": 3}).encode(), "field 'title' must be text"),
        (json.dumps({"config": [1]}).encode(), "field 'config' must be an object"),
        (json.dumps({"stages": {"a": 1}}).encode(), "field 'stages' must be a list"),
    ],
)
def test_broken_run_info_is_a_notice(
    content: bytes, needle: str, base: Path, tmp_path: Path
) -> None:
    run = _broken_run(base, tmp_path, lambda r: (r / "run.json").write_bytes(content))
    _refused(run, "provenance", needle)


@pytest.mark.parametrize("section", sorted(ARCHIVES))
@pytest.mark.parametrize("how", ["empty", "truncated"])
def test_damaged_archive_is_a_notice(section: str, how: str, base: Path, tmp_path: Path) -> None:
    path = ARCHIVES[section]
    data = b"" if how == "empty" else (base / path).read_bytes()[:200]
    run = _broken_run(base, tmp_path, lambda r: (r / path).write_bytes(data))
    _refused(run, section, "not a readable .npz file")


@pytest.mark.parametrize("section", sorted(TABLES))
def test_text_in_a_number_column_is_a_notice_naming_line_and_column(
    section: str, base: Path, tmp_path: Path
) -> None:
    path = TABLES[section]
    table = pd.read_csv(base / path, dtype=str)
    column = next(c for c in table.columns if c not in ("id", "caption"))

    def mutate(run: Path) -> None:
        table.loc[1, column] = "abc"
        table.to_csv(run / path, index=False)

    run = _broken_run(base, tmp_path, mutate)
    _refused(run, section, f"line 3, column {column!r}: 'abc' is not a")


def test_out_of_range_class_index_is_a_notice(base: Path, tmp_path: Path) -> None:
    path = TABLES["classification"]

    def mutate(run: Path) -> None:
        table = pd.read_csv(base / path)
        table.loc[0, "pred"] = 7
        table.to_csv(run / path, index=False)

    run = _broken_run(base, tmp_path, mutate)
    _refused(run, "classification", "column 'pred': 7 is not a class index 0..2")


@pytest.mark.parametrize("section", sorted(TABLES))
def test_empty_table_is_a_notice(section: str, base: Path, tmp_path: Path) -> None:
    run = _broken_run(base, tmp_path, lambda r: (r / TABLES[section]).write_bytes(b""))
    _refused(run, section, "cannot be parsed")


@pytest.mark.parametrize("what", ["panel", "file", "section", "run.json"])
def test_links_out_of_the_run_folder_are_not_followed(
    what: str, base: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(base, outside)

    def mutate(run: Path) -> None:
        target = {
            "panel": "gallery/simulated",
            "file": "gallery/simulated/gallery.npz",
            "section": "gallery",
            "run.json": "run.json",
        }[what]
        if (run / target).is_dir():
            shutil.rmtree(run / target)
        else:
            (run / target).unlink()
        (run / target).symlink_to(outside / target)

    run = _broken_run(base, tmp_path, mutate)
    section = "provenance" if what == "run.json" else "gallery"
    if what == "panel":  # the whole report: a notice, the other sections render
        _one_notice_naming(run, section, "outside the run folder")
    else:
        _refused(run, section, "outside the run folder")


def test_links_inside_the_run_folder_are_read(base: Path, tmp_path: Path) -> None:
    def mutate(run: Path) -> None:
        shutil.move(run / "bars" / "simulated", run / "bars" / "kept")
        (run / "bars" / "simulated").symlink_to(run / "bars" / "kept")

    run = _broken_run(base, tmp_path, mutate)
    assert len(art.read_bars(run, "simulated").table) == 40


def test_cli_report_of_a_broken_run_still_succeeds(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _broken_run(base, tmp_path, lambda r: (r / SUMMARIES["gallery"]).write_bytes(b"\xff"))
    assert main(["report", str(run)]) == 0
    assert (run / "report.html").is_file()
    notices = json.loads((run / "report_assets" / "index.json").read_text())["missing"]
    assert [n["section"] for n in notices] == ["gallery"]
    assert "not valid UTF-8" in notices[0]["message"]
