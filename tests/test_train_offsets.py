"""Class offsets chosen on a validation split and folded into the output layer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _train_helpers import blob_ring_dataset, tiny_config, tiny_run
from galaxy_xai.errors import ModelMismatchError, ParameterError
from galaxy_xai.train import evaluate, load_trained, predict_arrays, train
from galaxy_xai.train.offsets import apply_class_offsets, decision_score, fit_class_offsets
from galaxy_xai.train.predict import split_predictions


def _prior_shifted(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of a well-trained classifier whose prior over-weights class 1 by e^2."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    logits = rng.normal(0.0, 1.0, (n, 3))
    logits[np.arange(n), truth] += 2.0
    logits[:, 1] += 2.0  # the shift the offsets must undo
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return probs, truth


def test_offsets_undo_a_shifted_prior():
    probs, truth = _prior_shifted()
    offsets = fit_class_offsets(probs, truth)
    assert offsets[0] == 0.0
    assert offsets[1] < -1.0  # pulls the over-predicted class back
    k = probs.shape[1]
    before = decision_score(truth, probs.argmax(1), k)
    after = decision_score(truth, (np.log(probs) + offsets).argmax(1), k)
    assert after > before + 0.1
    # held-out galaxies from the same population gain too (not tuned on them)
    probs2, truth2 = _prior_shifted(seed=1)
    gain = decision_score(truth2, (np.log(probs2) + offsets).argmax(1), k) - decision_score(
        truth2, probs2.argmax(1), k
    )
    assert gain > 0.05


def test_offsets_stay_zero_when_nothing_is_gained():
    truth = np.array([0, 1, 2, 0, 1, 2])
    probs = np.eye(3)[truth] * 0.9 + 0.1 / 3  # already every galaxy right
    assert np.all(fit_class_offsets(probs, truth) == 0.0)


def test_decision_score_counts_a_never_predicted_class_as_zero():
    truth = np.array([0, 0, 1, 1])
    assert decision_score(truth, truth, 2) == pytest.approx(2.0)
    assert decision_score(truth, np.zeros(4, int), 2) == pytest.approx(0.5 + (2 / 3) / 2)


@pytest.mark.parametrize(
    ("probs", "truth", "grid", "name"),
    [
        (np.ones((4,)), np.zeros(4, int), None, "probs"),
        (np.full((4, 2), 0.5), np.zeros(3, int), None, "truth"),
        (np.full((4, 2), np.nan), np.zeros(4, int), None, "probs"),
        (np.full((4, 2), 0.5), np.array([0, 1, 2, 0]), None, "truth"),
        (np.full((4, 2), 0.5), np.zeros(4, int), [-1.0, 1.0], "grid"),
        (np.full((4, 2), 0.5), np.zeros(4, int), [0.0, np.inf], "grid"),
    ],
)
def test_fit_rejects_bad_input_naming_it(probs, truth, grid, name):
    kwargs = {} if grid is None else {"grid": grid}
    with pytest.raises(ParameterError, match=name):
        fit_class_offsets(probs, truth, **kwargs)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory.mktemp("offsets"), n=32)


def test_apply_folds_offsets_into_the_output_bias(run, tmp_path):
    trained = load_trained(run)
    images = _images(run.parent / "d.h5")
    before = predict_arrays(trained, images)
    offsets = np.array([0.0, 1.5])
    out = apply_class_offsets(run, offsets, tmp_path / "offset_run")
    shifted = load_trained(out)
    after = predict_arrays(shifted, images)
    expected = np.log(before) + offsets
    expected = np.exp(expected) / np.exp(expected).sum(1, keepdims=True)
    np.testing.assert_allclose(after, expected, rtol=1e-4, atol=1e-6)
    info = json.loads((out / "model.json").read_text())
    assert info["class_offsets"] == {"blob": 0.0, "ring": 1.5}
    assert info["class_offsets_chosen_on"] == "val"
    # the same split as the original run, so evaluate scores the same test galaxies
    assert json.loads((out / "split.json").read_text()) == json.loads(
        (run / "split.json").read_text()
    )
    assert (
        evaluate(shifted, run.parent / "d.h5", split="test")["n"]
        == evaluate(trained, run.parent / "d.h5", split="test")["n"]
    )


def _images(path):
    from galaxy_xai.data import open_dataset

    with open_dataset(path) as ds:
        return ds.images[:]


def test_split_predictions_are_what_evaluate_scores(run):
    probs, truth = split_predictions(run, run.parent / "d.h5", split="val")
    result = evaluate(run, run.parent / "d.h5", split="val")
    assert len(probs) == len(truth) == result["n"]
    assert np.mean(probs.argmax(1) == truth) == pytest.approx(result["accuracy"])


def test_apply_rejects_wrong_offsets_and_non_classifiers(run, tmp_path):
    with pytest.raises(ParameterError, match="offsets"):
        apply_class_offsets(run, [0.0, 1.0, 2.0], tmp_path / "a")
    with pytest.raises(ParameterError, match="offsets"):
        apply_class_offsets(run, [0.0, np.nan], tmp_path / "b")
    data = blob_ring_dataset(tmp_path / "r.h5", n=24, p_bar=np.linspace(0.05, 0.95, 24))
    config = tiny_config(data, task="vote_fraction", data={"target": ["p_bar"]})
    regression = train(config, tmp_path / "reg")
    with pytest.raises(ModelMismatchError, match="classifier"):
        apply_class_offsets(regression, [0.0], tmp_path / "c")
