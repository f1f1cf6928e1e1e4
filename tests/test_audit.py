"""Label audit: cleanlab ranking, k-fold and given-model probabilities, files, commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _train_helpers import blob_ring_dataset, tiny_config
from galaxy_xai.audit import ISSUE_COLUMNS, audit_dataset, flag_label_issues
from galaxy_xai.audit.commands import parse_class_map
from galaxy_xai.audit.figures import bias_table, select_suspects
from galaxy_xai.audit.labels import model_class_columns
from galaxy_xai.cli import main
from galaxy_xai.errors import DataFormatError, ParameterError


def _noisy_labels(n: int = 300, k: int = 3, flip: float = 0.1, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    probs = np.full((n, k), 0.05)
    probs[np.arange(n), truth] = 0.9
    probs = probs + rng.uniform(0, 0.05, probs.shape)
    probs /= probs.sum(1, keepdims=True)
    given = truth.copy()
    flipped = rng.random(n) < flip
    given[flipped] = (truth[flipped] + rng.integers(1, k, flipped.sum())) % k
    return given, probs, flipped, truth


def test_cleanlab_finds_the_flipped_labels_and_ranks_them_first() -> None:
    given, probs, flipped, truth = _noisy_labels()
    ids = [f"g{i}" for i in range(len(given))]
    table = flag_label_issues(given, probs, ["a", "b", "c"], ids)
    assert list(table.columns) == list(ISSUE_COLUMNS) and len(table) == len(given)
    flagged_ids = set(table.loc[table["is_label_issue"], "id"])
    flipped_ids = {ids[i] for i in np.flatnonzero(flipped)}
    recall = len(flagged_ids & flipped_ids) / len(flipped_ids)
    precision = len(flagged_ids & flipped_ids) / max(1, len(flagged_ids))
    assert recall > 0.9 and precision > 0.9
    n_flag = len(flagged_ids)
    assert table["is_label_issue"].iloc[:n_flag].all()
    assert list(table["issue_rank"].iloc[:n_flag]) == list(range(1, n_flag + 1))
    assert (np.diff(table["self_confidence"].iloc[:n_flag]) >= 0).all()
    # the suggestion is the true class for the flipped ones
    by_id = table.set_index("id")
    names = np.array(["a", "b", "c"])
    for i in np.flatnonzero(flipped)[:10]:
        assert by_id.loc[ids[i], "suggested_label"] == names[truth[i]]


def test_bad_probabilities_and_labels_name_the_problem() -> None:
    given, probs, _, _ = _noisy_labels(30)
    ids = [str(i) for i in range(30)]
    with pytest.raises(ParameterError, match="probabilities"):
        flag_label_issues(given, probs[:, :2], ["a", "b", "c"], ids)
    bad = given.copy()
    bad[4] = 7
    with pytest.raises(ParameterError, match="galaxy '4'"):
        flag_label_issues(bad, probs, ["a", "b", "c"], ids)
    nan = probs.copy()
    nan[0, 0] = np.nan
    with pytest.raises(ParameterError, match="finite"):
        flag_label_issues(given, nan, ["a", "b", "c"], ids)
    with pytest.raises(DataFormatError, match="two classes"):
        flag_label_issues(np.zeros(30, int), probs, ["a", "b", "c"], ids)


def test_labels_outside_the_models_classes_name_the_class() -> None:
    assert list(model_class_columns(["x", "a", "b"], ["a", "b"], where="m")) == [1, 2]
    with pytest.raises(DataFormatError, match=r"label class 'ring' is not an output.*\['blob'"):
        model_class_columns(["blob", "bar"], ["blob", "ring"], where="model 'm'")


def test_class_map_option_parses_and_refuses_bad_items() -> None:
    import argparse

    assert parse_class_map("0=elliptical, 1=spiral,4=") == {"0": "elliptical", "1": "spiral",
                                                            "4": None}  # fmt: skip
    for bad in ("0elliptical", "=x", ","):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_class_map(bad)


def test_bias_table_counts_shares_per_bin() -> None:
    table = pd.DataFrame({"given_label": ["a", "a", "b", "b"],
                          "is_label_issue": [True, False, False, False]})  # fmt: skip
    out = bias_table(table, ["a", "b", "b", "b"], {"size": np.array([1.0, 2.0, 3.0, 4.0])},
                     bins=2)  # fmt: skip
    assert out["flagged_share_by_class"] == {"a": 0.5, "b": 0.0}
    assert out["size"]["predicted_share"]["b"] == [0.5, 1.0]
    assert out["size"]["given_share"]["a"] == [1.0, 0.0]


def test_select_suspects_takes_the_commonest_pairs_in_rank_order() -> None:
    table = pd.DataFrame({
        "id": list("pqrstu"), "given_label": ["a", "a", "a", "b", "b", "c"],
        "suggested_label": ["b", "b", "b", "a", "a", "a"],
        "self_confidence": [0.1, 0.2, 0.3, 0.05, 0.4, 0.5],
        "is_label_issue": [True, True, True, True, True, False],
    })  # fmt: skip
    shown = select_suspects(table, per_pair=2, pairs=2)
    assert list(shown["id"]) == ["p", "q", "s", "t"]
    assert list(shown["pair_count"]) == [3, 3, 2, 2]


def _labelled(tmp_path: Path, n: int = 40) -> Path:
    labels = np.arange(n) % 2
    labels[[3, 7]] = 1 - labels[[3, 7]]  # two rings among the blobs and vice versa
    return blob_ring_dataset(tmp_path / "d.h5", n=n, labels=labels)


def test_kfold_audit_writes_its_files_and_resumes(tmp_path: Path) -> None:
    data = _labelled(tmp_path)
    settings = tiny_config(data, trainer={"max_epochs": 3})
    settings.pop("data")
    out = tmp_path / "audit"
    result = audit_dataset(data, out, folds=2, train_config=settings, saliency=True, n_samples=2)
    for name in ("label_issues.csv", "probabilities.csv", "audit.json", "suspects.png", "bias.png"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "audit.json").read_text())
    assert summary["n"] == 40 and summary["class_names"] == ["blob", "ring"]
    assert summary["n_flagged"] == int(result.table["is_label_issue"].sum())
    probs = pd.read_csv(out / "probabilities.csv")
    assert set(probs["fold"]) == {0, 1}
    np.testing.assert_allclose(probs[["prob_blob", "prob_ring"]].sum(1), 1.0, atol=1e-4)
    assert (out / "audit" / "labels" / "suspects.npz").is_file()  # the report's panel
    from galaxy_xai.report import build_report

    html = build_report(out, out / "report.html").read_text()
    assert 'id="audit-labels"' in html and "Label audit" in html
    figure = json.loads((out / "report_assets" / "audit-labels.json").read_text())
    assert set(figure["flagged_share"]) == {"blob", "ring"}

    first = (out / "folds" / "fold_0" / "run" / "model.json").stat().st_mtime_ns
    again = audit_dataset(data, out, folds=2, train_config=settings, resume=True, saliency=False)
    assert (out / "folds" / "fold_0" / "run" / "model.json").stat().st_mtime_ns == first
    assert again.summary["n_flagged"] == summary["n_flagged"]


def test_an_audit_that_flags_nothing_still_reports(tmp_path: Path) -> None:
    from galaxy_xai.audit.run import write_audit_panel
    from galaxy_xai.report import build_report

    given, probs, _, _ = _noisy_labels(40, k=2, flip=0.0)
    table = flag_label_issues(given, probs, ["blob", "ring"], [f"g{i}" for i in range(40)])
    assert not table["is_label_issue"].any()
    summary = {"data": "d.h5", "method": "m", "ranking": "r", "n": 40, "n_flagged": 0,
               "share_flagged": 0.0, "accuracy_out_of_sample": 1.0, "flagged_pairs": {},
               "bias": {"flagged_share_by_class": {"blob": 0.0, "ring": 0.0}}}  # fmt: skip
    result = type("R", (), {"table": table, "summary": summary})()
    write_audit_panel(result, tmp_path, image_of=lambda i: np.zeros((1, 8, 8), np.float32))
    html = build_report(tmp_path, tmp_path / "r.html").read_text()
    assert 'id="audit-labels"' in html and "could not be read" not in html


def test_too_many_folds_for_a_class_is_refused(tmp_path: Path) -> None:
    data = blob_ring_dataset(tmp_path / "d.h5", n=12, labels=[0] * 10 + [1] * 2)
    with pytest.raises(ParameterError, match="class 'ring' has only 2"):
        audit_dataset(data, tmp_path / "a", folds=3)


def test_cli_audit_with_a_given_model_and_its_bad_input(tmp_path: Path, capsys) -> None:
    from galaxy_xai.train import train

    data = _labelled(tmp_path)
    run = train(tiny_config(data, trainer={"max_epochs": 2}), tmp_path / "run")
    out = tmp_path / "audit"
    assert main(["audit", "--data", str(data), "--model", str(run), "--out", str(out)]) == 0
    assert "of 40 galaxies flagged" in capsys.readouterr().out
    assert "given model" in json.loads((out / "audit.json").read_text())["method"]
    # labels the model does not have
    other = blob_ring_dataset(tmp_path / "o.h5", n=12, labels=np.arange(12) % 3)
    assert main(["audit", "--data", str(other), "--model", str(run), "--out",
                 str(tmp_path / "x")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "label class" in err and "not an output of the model" in err
    assert len(err.splitlines()) == 1
    # a class map that does not cover a label value names the value
    assert main(["audit", "--data", str(data), "--class-map", "0=blob", "--out",
                 str(tmp_path / "y")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "not covered by data.class_map" in err and len(err.splitlines()) == 1
    assert main(["audit", "--data", str(data), "--model", str(run), "--epochs", "3",
                 "--out", str(tmp_path / "z")]) == 2  # fmt: skip
    assert "--model" in capsys.readouterr().err
