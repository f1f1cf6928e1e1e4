"""Galaxy Zoo 2 decision tree, the nine classes of Guan et al. (2023), subsets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galaxy_xai.data import read_gz2_votes_table
from galaxy_xai.data.curation import (
    GZ2_NINE_CLASS_NAMES,
    GZ2_TASK_PARENT,
    GZ2_TASKS,
    answer_fractions,
    balanced_subset,
    gz2_nine_class,
    majority_answers,
    most_confident_per_class,
)
from galaxy_xai.errors import DataFormatError, ParameterError


def _willett(rows: list[dict[str, float]], kind: str = "debiased") -> pd.DataFrame:
    """A table whose every answer defaults to 0 except those given (stem -> fraction)."""
    data = {
        f"{t}_{a}_{kind}": [r.get(f"{t}_{a}", 0.0) for r in rows]
        for t, ans in GZ2_TASKS.items()
        for a in ans
    }
    return pd.DataFrame(data)


def _to_kaggle(frac: pd.DataFrame) -> pd.DataFrame:
    """Cumulative Kaggle columns from per-question fractions (the challenge's weighting)."""
    reach = {}
    out = {}
    for t, (task, answers) in enumerate(GZ2_TASKS.items(), start=1):
        parent = GZ2_TASK_PARENT[task]
        weight = np.ones(len(frac)) if parent is None else reach[parent]
        for a, answer in enumerate(answers, start=1):
            stem = f"{task}_{answer}"
            reach[stem] = weight * frac[stem].to_numpy()
            out[f"Class{t}.{a}"] = reach[stem]
    return pd.DataFrame(out)


def test_path_products_by_hand():
    row = {
        "t01_smooth_or_features_a01_smooth": 0.2,
        "t01_smooth_or_features_a02_features_or_disk": 0.8,
        "t02_edgeon_a05_no": 0.9,
        "t02_edgeon_a04_yes": 0.1,
        "t03_bar_a06_bar": 0.7,
        "t03_bar_a07_no_bar": 0.3,
        "t04_spiral_a08_spiral": 0.6,
        "t04_spiral_a09_no_spiral": 0.4,
        "t07_rounded_a16_completely_round": 1.0,
        "t09_bulge_shape_a25_rounded": 0.5,
        "t09_bulge_shape_a26_boxy": 0.25,
    }
    out = gz2_nine_class(_willett([row]), probabilities=True)
    assert out["label"][0] == 5 and out["class_name"][0] == "barred spiral"
    assert out["confidence"][0] == pytest.approx(0.8 * 0.9 * 0.7 * 0.6)
    assert out["p_class3"][0] == pytest.approx(0.8 * 0.1 * 0.75)  # rounded + boxy bulge
    assert out["p_class0"][0] == pytest.approx(0.2)
    answers = majority_answers(_willett([row]))
    assert answers.loc[0, "t01_smooth_or_features"] == "features_or_disk"
    assert answers.loc[0, "t03_bar"] == "bar" and answers.loc[0, "t07_rounded"] == ""


def test_nine_class_on_stripe82(real_data):
    df = read_gz2_votes_table(real_data / "gz2-stripe82" / "table5.csv.gz")
    out = gz2_nine_class(df, probabilities=True)
    assert len(out) == len(df) and out.index.equals(df.index)
    probs = out[[f"p_class{k}" for k in range(9)]].to_numpy()
    np.testing.assert_allclose(out["confidence"], probs.max(1))
    assert set(out["label"]) == set(range(9))  # every class occurs in 19,761 galaxies
    # debiased products along the path, checked for one class by hand
    bar = out["label"] == 5
    f = lambda s: df[f"{s}_debiased"][bar]  # noqa: E731
    expected = (
        f("t01_smooth_or_features_a02_features_or_disk")
        * f("t02_edgeon_a05_no")
        * f("t03_bar_a06_bar")
        * f("t04_spiral_a08_spiral")
    )
    np.testing.assert_allclose(out["confidence"][bar], expected.clip(0, 1))
    # the plain fractions give a different but mostly agreeing labelling
    plain = gz2_nine_class(df, kind="fraction")
    assert 0.5 < (plain["label"] == out["label"]).mean() < 1.0
    top = most_confident_per_class(out, 20)
    assert top.groupby("label").size().max() == 20
    for _, group in top.groupby("label"):
        assert group["confidence"].is_monotonic_decreasing
        cls = group["label"].iloc[0]
        rest = out[(out["label"] == cls) & ~out.index.isin(group.index)]
        assert rest.empty or rest["confidence"].max() <= group["confidence"].min()
    balanced = balanced_subset(out, min_confidence=0.5)
    sizes = balanced.groupby("label").size()
    assert sizes.nunique() == 1 and (balanced["confidence"] >= 0.5).all()


def test_kaggle_spelling_gives_same_classes(real_data):
    df = read_gz2_votes_table(real_data / "gz2-stripe82" / "table5.csv.gz").iloc[:2000]
    frac = answer_fractions(df, kind="fraction")
    kaggle = _to_kaggle(frac)
    back = answer_fractions(kaggle)  # auto-detects the Kaggle spelling
    reached = kaggle["Class1.2"].to_numpy() * kaggle["Class2.2"].to_numpy() > 0
    cols = ["t03_bar_a06_bar", "t04_spiral_a08_spiral"]
    np.testing.assert_allclose(back.loc[reached, cols], frac.loc[reached, cols], atol=1e-9)
    a = gz2_nine_class(df, kind="fraction")
    b = gz2_nine_class(kaggle)
    assert (a["label"] == b["label"]).all()
    # the table rounds fractions to 3 decimals, so renormalising moves them slightly
    np.testing.assert_allclose(a["confidence"], b["confidence"], atol=5e-3)


def test_errors_name_columns_and_parameters():
    with pytest.raises(
        DataFormatError, match=r"no Galaxy Zoo 2 vote-fraction columns .*found: ra, dec"
    ):
        gz2_nine_class(pd.DataFrame({"ra": [1.0], "dec": [2.0]}))
    with pytest.raises(ParameterError, match="kind='votes'"):
        answer_fractions(_willett([{}]), kind="votes")
    df = _willett([{}]).drop(columns=["t03_bar_a06_bar_debiased"])
    with pytest.raises(DataFormatError, match=r"no column\(s\) 't03_bar_a06_bar_debiased'"):
        answer_fractions(df, kind="debiased")
    table = pd.DataFrame({"label": [0, 0, 1], "confidence": [0.9, 0.8, 0.7]})
    with pytest.raises(ParameterError, match="n=0"):
        most_confident_per_class(table, 0)
    with pytest.raises(DataFormatError, match=r"no column\(s\) \['score'\]"):
        most_confident_per_class(table, 1, confidence_column="score")
    with pytest.raises(ParameterError, match=r"n_per_class=2: .*\{1: 1\}"):
        balanced_subset(table, n_per_class=2)
    with pytest.raises(
        ParameterError, match=r"min_confidence=0.75: leaves class\(es\) \{1: 0\} empty"
    ):
        balanced_subset(table, min_confidence=0.75, classes=[0, 1])
    assert len(GZ2_NINE_CLASS_NAMES) == 9
