"""Workflows: multi-step recipes above ``bars``, ``explain``, ``train`` and ``simulate``.

Shared by the demo, the benchmarks, the zoo recipes and the CLI
(``galaxy-xai workflows ...``); nothing below this layer imports it.

* :func:`train_bar_network` (:mod:`galaxy_xai.workflows.bar_network`): the bar network,
  trained on simulations (simulated here when no file is given) and optionally
  fine-tuned on real bar votes;
* :func:`train_direct_regressor` / :func:`predict_direct`
  (:mod:`galaxy_xai.workflows.bar_direct`): the control that regresses the bar length
  directly, on the bar network's training galaxies.
"""

from galaxy_xai.workflows.bar_direct import predict_direct, train_direct_regressor
from galaxy_xai.workflows.bar_network import (
    BAR_OUTPUT,
    CENTRE_MASK,
    BarNetwork,
    bar_train_config,
    train_bar_network,
)

__all__ = [
    "BAR_OUTPUT",
    "CENTRE_MASK",
    "BarNetwork",
    "bar_train_config",
    "predict_direct",
    "train_bar_network",
    "train_direct_regressor",
]
