"""The bar network: trained on simulations, fine-tuned on real bar votes (GaMorNet style).

Real images with bar votes are few here, so, following GaMorNet (Ghosh et al. 2020),
the network first learns ``p(bar)`` on simulated SDSS-like galaxies
(``galaxy-xai simulate --preset sdss``; the target is the 0/1 ``barred`` truth) and is
then fine-tuned on real vote fractions (e.g. Galaxy Zoo 2 ``p_bar`` of the Galaxy
Builder cutouts). Both stages are plain ``galaxy_xai.train`` runs with one sigmoid
output named ``bar`` (the Galaxy Zoo answer), so SmoothGrad maps are taken of
``target="bar"`` and a user with the full GZ2 release trains on real vote fractions
with the same commands.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

from galaxy_xai.errors import DataFormatError, ParameterError
from galaxy_xai.models.files import MODEL_INFO_NAME

__all__ = [
    "BAR_OUTPUT",
    "CENTRE_MASK",
    "BarNetwork",
    "BarNetworkConfig",
    "bar_train_config",
    "train_bar_network",
]

log = logging.getLogger(__name__)

#: Name of the network's output whose saliency map holds the bar.
BAR_OUTPUT = "bar"
#: Default probability of hiding the centre of a simulated training image (see
#: :func:`train_bar_network`).
CENTRE_MASK = 0.5


@dataclasses.dataclass(frozen=True)
class BarNetworkConfig:
    """The settings of ``galaxy-xai workflows bar-network`` (``--config FILE`` keys).

    The same names and defaults as the keywords of :func:`train_bar_network`
    (``tests/test_cli_vocabulary.py`` keeps them equal).
    """

    n_sim: int = 4000  # simulated galaxies (train/val/test split by id hash)
    size: int = 64  # image size, pixels
    epochs: int = 15  # epochs on the simulations
    architecture: str | None = None  # None: the compact CNN
    finetune_data: str | None = None  # real dataset .h5 with a vote-fraction column
    finetune_col: str = "p_bar"  # its vote-fraction column
    finetune_epochs: int = 10
    centre_mask: float = CENTRE_MASK  # probability of hiding a central disc (0 = off)
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class BarNetwork:
    """Where the bar network's runs are.

    Attributes
    ----------
    run_dir
        The final run (the fine-tuned one when fine-tuning was asked for).
    sim_run
        The run trained on simulations (None when started from real data only).
    finetune_run
        The fine-tuned run, or None.
    sim_data
        The simulated dataset used.
    target
        Output name to explain (``"bar"``).
    """

    run_dir: Path
    sim_run: Path | None
    finetune_run: Path | None
    sim_data: Path | None
    target: str = BAR_OUTPUT


def bar_train_config(
    data: str | os.PathLike[str],
    *,
    target_col: str,
    epochs: int,
    architecture: str | None = None,
    model_kwargs: dict[str, Any] | None = None,
    batch_size: int = 32,
    lr: float = 1e-3,
    fractions: tuple[float, float, float] = (0.85, 0.15, 0.0),
    transfer_from: str | os.PathLike[str] | None = None,
    seed: int = 0,
    augment: bool = True,
    centre_mask: float = 0.0,
) -> Any:
    """The ``TrainConfig`` of one stage: a single sigmoid output ``bar`` on ``target_col``.

    ``centre_mask`` is the probability that a training image has its centre hidden
    (:class:`galaxy_xai.train.augment.CentreMask`).
    """
    from galaxy_xai.train import load_train_config

    transfer: dict[str, Any] = {}
    if transfer_from is not None:
        transfer = {"checkpoint": str(transfer_from), "lr_scale": 0.3}
    return load_train_config(
        {
            "task": "vote_fraction",
            "seed": seed,
            "data": {
                "path": str(data),
                "target": target_col,
                "output_names": [BAR_OUTPUT],
                "train_fraction": fractions[0],
                "val_fraction": fractions[1],
                "test_fraction": fractions[2],
                "split_seed": seed,
            },
            "model": {"name": architecture or "compact", "kwargs": dict(model_kwargs or {})},
            "optim": {"name": "adam", "lr": lr, "schedule": "plateau"},
            "augment": {
                "enabled": augment,
                "scale": [1.0, 1.0],
                "shift_fraction": 0.03,
                "centre_mask_probability": centre_mask,
            },
            "trainer": {"max_epochs": epochs, "batch_size": batch_size, "patience": 6},
            "transfer": transfer,
        }
    )


def _check_column(path: Path, column: str) -> None:
    from galaxy_xai.data import open_dataset

    with open_dataset(path) as ds:
        if column not in ds.catalog.columns:
            raise DataFormatError(
                f"dataset '{path}' has no column {column!r} "
                f"(found: {', '.join(ds.catalog.columns)})"
            )


def train_bar_network(
    out_dir: str | os.PathLike[str],
    *,
    sim_data: str | os.PathLike[str] | None = None,
    n_sim: int = 4000,
    size: int = 64,
    bar_fraction: float = 0.5,
    epochs: int = 15,
    architecture: str | None = None,
    model_kwargs: dict[str, Any] | None = None,
    batch_size: int = 32,
    lr: float = 1e-3,
    sim_target_col: str = "barred",
    finetune_data: str | os.PathLike[str] | None = None,
    finetune_col: str = "p_bar",
    finetune_epochs: int = 10,
    finetune_fractions: tuple[float, float, float] = (0.8, 0.2, 0.0),
    seed: int = 0,
    resume: bool = False,
    centre_mask: float = CENTRE_MASK,
) -> BarNetwork:
    """Train the bar network on simulations, then (optionally) fine-tune on real votes.

    Parameters
    ----------
    out_dir
        Folder for ``sim.h5`` (when simulated here), ``sim_run/`` and ``finetune_run/``.
    sim_data
        An existing simulated dataset with a ``sim_target_col`` column (0/1 or a
        fraction); default: simulate ``n_sim`` SDSS-like galaxies of ``size`` pixels
        with ``galaxy_xai.simulate.simulate_dataset`` (``bar_fraction`` of them barred).
        Only the galaxies of this file are trained on: keep calibration and test
        galaxies in other files.
    epochs, batch_size, lr, architecture, model_kwargs
        Training settings of the simulation stage (default architecture: ``compact``,
        which has the dropout layer MC dropout needs).
    finetune_data
        Real dataset with the vote fraction ``finetune_col`` (e.g. Galaxy Builder
        images with GZ2 ``p_bar``); same image size as the simulations. None: no
        fine-tuning.
    finetune_epochs, finetune_fractions
        Fine-tuning epochs and its (train, val, test) split of ``finetune_data``.
    seed
        Seed of simulation, splits and weights.
    centre_mask
        Probability that a simulated training image has a random central disc hidden
        (:class:`galaxy_xai.train.augment.CentreMask`), in both classes alike. The
        network must then recognise a bar from its outer parts too, so that its
        saliency maps follow the bar along its length instead of marking its centre
        (:data:`CENTRE_MASK` by default; 0 = off). Fine-tuning on real images does not
        mask.
    resume
        Reuse finished stages and continue interrupted ones.

    Returns
    -------
    BarNetwork
        ``run_dir`` is the network to explain with ``target="bar"``.

    Raises
    ------
    ParameterError
        On impossible sizes or counts.
    DataFormatError
        If a dataset lacks the target column.
    """
    from galaxy_xai.train import train

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if sim_data is None:
        if n_sim < 20:
            raise ParameterError("n_sim", n_sim, "must be >= 20 simulated galaxies")
        if size < 16:
            raise ParameterError("size", size, "must be >= 16 pixels")
        sim_path = out_dir / "sim.h5"
        if not sim_path.is_file():
            from galaxy_xai.simulate import simulate_dataset

            log.info("simulating %d SDSS-like galaxies (%d px) -> %s", n_sim, size, sim_path)
            simulate_dataset(
                sim_path, n=n_sim, preset="sdss", size=size, bar_fraction=bar_fraction, seed=seed
            )
    else:
        sim_path = Path(sim_data)
    _check_column(sim_path, sim_target_col)

    def _run(path: Path, config: Any) -> Path:
        if (path / MODEL_INFO_NAME).is_file() and resume:
            return path
        return train(config, path, resume=resume and (path / "checkpoints").is_dir())

    sim_run = _run(
        out_dir / "sim_run",
        bar_train_config(
            sim_path, target_col=sim_target_col, epochs=epochs, architecture=architecture,
            model_kwargs=model_kwargs, batch_size=batch_size, lr=lr, seed=seed,
            centre_mask=centre_mask,
        ),
    )  # fmt: skip
    finetune_run = None
    if finetune_data is not None:
        _check_column(Path(finetune_data), finetune_col)
        finetune_run = _run(
            out_dir / "finetune_run",
            bar_train_config(
                finetune_data, target_col=finetune_col, epochs=finetune_epochs,
                architecture=architecture, model_kwargs=model_kwargs,
                batch_size=min(batch_size, 16), lr=lr, fractions=finetune_fractions,
                transfer_from=sim_run, seed=seed,
            ),
        )  # fmt: skip
    return BarNetwork(
        run_dir=finetune_run or sim_run,
        sim_run=sim_run,
        finetune_run=finetune_run,
        sim_data=sim_path,
    )
