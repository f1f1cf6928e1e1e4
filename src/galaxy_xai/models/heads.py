"""Output heads: how a network's raw outputs become predictions, and their losses.

Every architecture in :mod:`galaxy_xai.models` ends in a plain ``nn.Linear`` giving raw
outputs ``(N, num_outputs)``. A head turns them into what the task predicts and
defines the training loss:

- :class:`ClassificationHead`: softmax class probabilities, cross-entropy loss
  (optionally class-weighted);
- :class:`VoteFractionHead`: sigmoid vote fractions for any set of Galaxy Zoo answers
  with a mean-squared-error loss (Bhambra et al. 2022, MNRAS 511, 5032);
- :class:`DirichletHead`: Dirichlet concentrations per answer and the
  Dirichlet-multinomial negative log-likelihood of the raw vote *counts*, one
  multinomial per question (Walmsley et al. 2022, zoobot);
- :class:`RegressionHead`: a scalar (or vector) regressor, e.g. bar length, trained on
  standardised targets with an MSE loss and returned in the original units.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from galaxy_xai.errors import ParameterError
from galaxy_xai.names import TASKS  # the tasks a head can serve (``TrainConfig.task``)

__all__ = [
    "TASKS",
    "ClassificationHead",
    "DirichletHead",
    "Head",
    "RegressionHead",
    "VoteFractionHead",
    "build_head",
    "dirichlet_multinomial_nll",
]


class Head(nn.Module):
    """Base class: ``predict(raw) -> outputs`` and ``loss(raw, target) -> scalar``.

    Parameters
    ----------
    num_outputs
        Width of the raw outputs the network produces.

    Raises
    ------
    ParameterError
        If ``num_outputs`` < 1.
    """

    task = ""

    def __init__(self, num_outputs: int) -> None:
        super().__init__()
        if num_outputs < 1:
            raise ParameterError("num_outputs", num_outputs, "must be >= 1")
        self.num_outputs = int(num_outputs)

    def predict(self, raw: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Predictions ``(N, num_outputs)`` from raw outputs ``(N, num_outputs)``.

        Raises
        ------
        NotImplementedError
            Always, on the base class: each head defines its predictions.
        """
        raise NotImplementedError

    def loss(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """Mean training loss of a batch.

        Raises
        ------
        NotImplementedError
            Always, on the base class: each head defines its loss.
        """
        raise NotImplementedError

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return self.predict(raw)


class ClassificationHead(Head):
    """Softmax class probabilities with a (weighted) cross-entropy loss.

    Parameters
    ----------
    num_outputs
        Number of classes.
    class_weights
        Optional weight per class (e.g. inverse frequency for rare mergers).

    Raises
    ------
    ParameterError
        If ``num_outputs`` < 1, or ``class_weights`` does not hold ``num_outputs``
        values >= 0.
    """

    task = "classification"

    def __init__(self, num_outputs: int, *, class_weights: Sequence[float] | None = None) -> None:
        super().__init__(num_outputs)
        if class_weights is not None:
            weights = torch.as_tensor(list(class_weights), dtype=torch.float32)
            if weights.shape != (num_outputs,) or bool((weights < 0).any()):
                raise ParameterError(
                    "class_weights", list(class_weights), f"needs {num_outputs} values >= 0"
                )
            self.register_buffer("class_weights", weights)
        else:
            self.class_weights = None

    def predict(self, raw: torch.Tensor) -> torch.Tensor:
        return torch.softmax(raw.float(), dim=1)

    def loss(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(raw.float(), target.long(), weight=self.class_weights)


class VoteFractionHead(Head):
    """Sigmoid vote fractions, one per Galaxy Zoo answer, with an MSE loss."""

    task = "vote_fraction"

    def predict(self, raw: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(raw.float())

    def loss(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(torch.sigmoid(raw.float()), target.float())


def dirichlet_multinomial_nll(
    counts: torch.Tensor, concentrations: torch.Tensor, groups: Sequence[Sequence[int]]
) -> torch.Tensor:
    """Negative log-likelihood of vote counts under a Dirichlet-multinomial per question.

    Parameters
    ----------
    counts
        ``(N, A)`` volunteer votes per answer (non-negative; a question nobody was asked
        has zero total and contributes nothing).
    concentrations
        ``(N, A)`` Dirichlet concentrations (> 0).
    groups
        Answer indices of each question, e.g. ``[[0, 1, 2], [3, 4]]``.

    Returns
    -------
    torch.Tensor
        ``(N,)`` NLL per galaxy, summed over questions.

    References
    ----------
    Walmsley et al. 2022, MNRAS 509, 3966 (zoobot), eq. 3.
    """
    counts = counts.float()
    alpha = concentrations.float()
    total = torch.zeros(counts.shape[0], device=counts.device)
    for group in groups:
        idx = torch.as_tensor(list(group), device=counts.device)
        k, a = counts[:, idx], alpha[:, idx]
        n, a0 = k.sum(1), a.sum(1)
        log_pmf = (
            torch.lgamma(n + 1)
            + torch.lgamma(a0)
            - torch.lgamma(n + a0)
            + (torch.lgamma(k + a) - torch.lgamma(a) - torch.lgamma(k + 1)).sum(1)
        )
        total = total - log_pmf
    return total


class DirichletHead(Head):
    """Dirichlet concentrations on vote counts (zoobot); predicts expected vote fractions.

    Parameters
    ----------
    num_outputs
        Number of answers over all questions.
    groups
        Answer indices per question; default: all answers form one question.
    max_concentration
        Concentrations are ``1 + (max - 1) * sigmoid(raw)``, in ``[1, max]`` as in zoobot.

    Raises
    ------
    ParameterError
        If ``num_outputs`` < 1, ``groups`` does not use each answer index
        ``0..num_outputs-1`` exactly once, or ``max_concentration`` <= 1.
    """

    task = "dirichlet"

    def __init__(
        self,
        num_outputs: int,
        *,
        groups: Sequence[Sequence[int]] | None = None,
        max_concentration: float = 100.0,
    ) -> None:
        super().__init__(num_outputs)
        groups = [list(range(num_outputs))] if not groups else [list(g) for g in groups]
        flat = sorted(i for g in groups for i in g)
        if flat != list(range(num_outputs)):
            raise ParameterError(
                "question_groups", groups, f"must partition the {num_outputs} answers exactly"
            )
        if max_concentration <= 1:
            raise ParameterError("max_concentration", max_concentration, "must be > 1")
        self.groups = groups
        self.max_concentration = float(max_concentration)

    def concentrations(self, raw: torch.Tensor) -> torch.Tensor:
        """Dirichlet concentrations ``(N, A)`` in ``[1, max_concentration]``."""
        return 1.0 + (self.max_concentration - 1.0) * torch.sigmoid(raw.float())

    def predict(self, raw: torch.Tensor) -> torch.Tensor:
        alpha = self.concentrations(raw)
        out = torch.empty_like(alpha)
        for group in self.groups:
            out[:, group] = alpha[:, group] / alpha[:, group].sum(1, keepdim=True)
        return out

    def loss(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return dirichlet_multinomial_nll(target, self.concentrations(raw), self.groups).mean()


class RegressionHead(Head):
    """A regressor trained on standardised targets; predicts in the original units.

    Parameters
    ----------
    num_outputs
        Number of regressed quantities (1 for a scalar such as bar length).
    mean, std
        Per-output target mean and standard deviation of the training split; the loss
        compares ``raw`` with ``(target - mean) / std``.

    Raises
    ------
    ParameterError
        If ``num_outputs`` < 1, ``mean`` or ``std`` does not hold ``num_outputs``
        values, or a ``std`` is <= 0.
    """

    task = "regression"
    mean: torch.Tensor  # buffers registered in __init__
    std: torch.Tensor

    def __init__(
        self,
        num_outputs: int,
        *,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ) -> None:
        super().__init__(num_outputs)
        mean_t = torch.zeros(num_outputs) if mean is None else torch.as_tensor(list(mean)).float()
        std_t = torch.ones(num_outputs) if std is None else torch.as_tensor(list(std)).float()
        if mean_t.shape != (num_outputs,) or std_t.shape != (num_outputs,):
            raise ParameterError("mean/std", (mean, std), f"need {num_outputs} values each")
        if bool((std_t <= 0).any()):
            raise ParameterError("std", std, "must be > 0")
        self.register_buffer("mean", mean_t)
        self.register_buffer("std", std_t)

    def predict(self, raw: torch.Tensor) -> torch.Tensor:
        return raw.float() * self.std + self.mean

    def loss(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.float().reshape(raw.shape)
        return F.mse_loss(raw.float(), (target - self.mean) / self.std)


def build_head(
    task: str,
    num_outputs: int,
    *,
    class_weights: Sequence[float] | None = None,
    groups: Sequence[Sequence[int]] | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> Head:
    """The head of ``task`` (one of :data:`TASKS`) for ``num_outputs`` raw outputs.

    Raises
    ------
    ParameterError
        If ``task`` is unknown.
    """
    if task == "classification":
        return ClassificationHead(num_outputs, class_weights=class_weights)
    if task == "vote_fraction":
        return VoteFractionHead(num_outputs)
    if task == "dirichlet":
        return DirichletHead(num_outputs, groups=groups)
    if task == "regression":
        return RegressionHead(num_outputs, mean=mean, std=std)
    raise ParameterError("task", task, f"must be one of {', '.join(TASKS)}")
