"""Heads: probabilities, vote fractions, the Dirichlet-multinomial likelihood, regression."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import dirichlet_multinomial

from galaxy_xai.errors import ParameterError
from galaxy_xai.models import build_head, dirichlet_multinomial_nll


def test_classification_probabilities_and_weighted_loss():
    head = build_head("classification", 3, class_weights=[1.0, 1.0, 10.0])
    raw = torch.randn(8, 3)
    probs = head.predict(raw)
    torch.testing.assert_close(probs.sum(1), torch.ones(8))
    target = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    expected = torch.nn.functional.cross_entropy(raw, target, weight=torch.tensor([1.0, 1, 10]))
    torch.testing.assert_close(head.loss(raw, target), expected)


def test_vote_fraction_loss_is_zero_at_the_target():
    head = build_head("vote_fraction", 4)
    target = torch.tensor([[0.1, 0.5, 0.9, 0.3]])
    raw = torch.logit(target)
    assert head.loss(raw, target).item() == pytest.approx(0.0, abs=1e-10)
    torch.testing.assert_close(head.predict(raw), target)


def test_dirichlet_multinomial_matches_scipy():
    counts = torch.tensor([[3.0, 5.0, 2.0, 4.0, 0.0], [0.0, 1.0, 9.0, 1.0, 1.0]])
    alpha = torch.tensor([[2.0, 3.0, 1.5, 1.2, 4.0], [1.0, 2.0, 5.0, 3.0, 3.0]])
    groups = [[0, 1, 2], [3, 4]]
    nll = dirichlet_multinomial_nll(counts, alpha, groups)
    for i in range(2):
        ref = 0.0
        for g in groups:
            k = counts[i, g].numpy()
            ref -= dirichlet_multinomial.logpmf(k, alpha[i, g].numpy(), int(k.sum()))
        assert nll[i].item() == pytest.approx(ref, rel=1e-5)


def test_dirichlet_head_predicts_fractions_per_question():
    head = build_head("dirichlet", 5, groups=[[0, 1, 2], [3, 4]])
    probs = head.predict(torch.randn(6, 5))
    torch.testing.assert_close(probs[:, :3].sum(1), torch.ones(6))
    torch.testing.assert_close(probs[:, 3:].sum(1), torch.ones(6))
    # a question nobody answered contributes nothing to the loss
    counts = torch.tensor([[2.0, 1.0, 0.0, 0.0, 0.0]])
    raw = torch.zeros(1, 5)
    alone = dirichlet_multinomial_nll(counts, head.concentrations(raw), [[0, 1, 2]])
    torch.testing.assert_close(head.loss(raw, counts), alone.mean())
    with pytest.raises(ParameterError, match="must partition the 5 answers"):
        build_head("dirichlet", 5, groups=[[0, 1], [3, 4]])


def test_regression_head_round_trips_units():
    head = build_head("regression", 1, mean=[10.0], std=[4.0])
    target = torch.tensor([[18.0]])
    raw = torch.tensor([[2.0]])  # (18 - 10) / 4
    assert head.loss(raw, target).item() == pytest.approx(0.0)
    assert head.predict(raw).item() == pytest.approx(18.0)
    with pytest.raises(ParameterError, match="std"):
        build_head("regression", 1, mean=[0.0], std=[0.0])


def test_unknown_task_and_bad_weights():
    with pytest.raises(ParameterError, match="task='segmentation'"):
        build_head("segmentation", 2)
    with pytest.raises(ParameterError, match="class_weights"):
        build_head("classification", 3, class_weights=[1.0, 2.0])
    assert np.isfinite(
        build_head("classification", 2).loss(torch.zeros(1, 2), torch.tensor([1])).item()
    )
