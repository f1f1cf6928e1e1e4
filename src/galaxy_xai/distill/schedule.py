"""Which expert epochs trajectory matching starts from: MTT's fixed schedule and STM.

MTT (Cazenavette et al. 2022) draws every iteration's start epoch uniformly from
``0 .. max_start_epoch - 1`` with a hand-tuned ``max_start_epoch``. Self-adaptive
trajectory matching (STM, Guan et al. 2023, arXiv 2311.17967) removes that knob:

1. the maximum start epoch starts at 1 (only epoch 0) and rises by stages;
2. every iteration also records the matching loss from the next, not-yet-used start
   epoch (``max_start_epoch`` itself), without updating the images; within a stage
   this probe always uses the same expert, batch order and augmentation, so that the
   series changes only because the images change (with a random expert per iteration
   the series was too noisy for the test below to pass in a few hundred iterations);
3. every ``test_every`` iterations the Pearson correlation r between that series and
   the iteration index is compared with ``sigma = sqrt(1 / (n - 2))`` (the standard
   error of r under no correlation, n = series length): a clearly falling series
   (``r < -advance_below_sigma * sigma``: what the images learnt transfers to the next
   epoch) or a clearly rising one (``r > advance_above_sigma * sigma``: the images
   start to overfit the early epochs) opens the next epoch, and the series restarts;
4. a stage that does not pass within ``stage_limit`` iterations, or reaching the last
   usable start epoch, moves to fine-tuning: the start range stays fixed and the image
   learning rate decays by ``decay_factor`` every ``decay_every`` iterations until it
   falls below ``lr_floor``, which ends the run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from galaxy_xai.errors import ParameterError
from galaxy_xai.stats import row_pearson

__all__ = ["AdaptiveSchedule", "FixedSchedule", "STMConstants", "pearson_r"]


def pearson_r(values: list[float] | np.ndarray) -> float:
    """Pearson correlation between ``values`` and their index 0, 1, 2, ... (NaN if flat)."""
    y = np.asarray(values, dtype=np.float64)
    if len(y) < 2:
        return float("nan")
    r = float(row_pearson(np.arange(len(y), dtype=np.float64), y))
    return r if math.isfinite(r) else float("nan")


@dataclass(frozen=True)
class STMConstants:
    """The constants of STM, with the values of Guan et al. (2023).

    Since |r| <= 1, a falling series can pass ``r < -5 sigma`` only once it holds 28
    points or more, and a rising one ``r > 3 sigma`` from 12 points: with the default
    ``test_every`` a stage lasts at least 30 (falling) or 20 (rising) iterations, and a
    ``stage_limit`` below 30 can only advance on a rising series.
    """

    initial_max_start: int = 1  # first stage: start from epoch 0 only
    test_every: int = 10  # iterations between correlation tests
    advance_below_sigma: float = 5.0  # advance when r < -5 sigma (loss clearly falls)
    advance_above_sigma: float = 3.0  # advance when r > +3 sigma (loss clearly rises)
    stage_limit: int = 1000  # iterations a stage may take before fine-tuning
    decay_every: int = 50  # fine-tuning: image lr decay interval (iterations)
    decay_factor: float = 0.8  # fine-tuning: image lr multiplier per interval
    lr_floor: float = 1.0  # fine-tuning ends when lr_img falls below this (absolute)

    def check(self) -> None:
        """Refuse constants the schedule cannot use.

        Raises
        ------
        ParameterError
            If ``initial_max_start``, ``stage_limit`` or ``decay_every`` < 1,
            ``test_every`` < 3, ``decay_factor`` is not in (0, 1), or ``lr_floor`` < 0.
        """
        for name in ("initial_max_start", "test_every", "stage_limit", "decay_every"):
            if getattr(self, name) < 1:
                raise ParameterError(name, getattr(self, name), "must be >= 1")
        if self.test_every < 3:
            raise ParameterError("test_every", self.test_every, "must be >= 3 (sigma needs n > 2)")
        if not 0 < self.decay_factor < 1:
            raise ParameterError("decay_factor", self.decay_factor, "must lie in (0, 1)")
        if self.lr_floor < 0:
            raise ParameterError("lr_floor", self.lr_floor, "must be >= 0")


class _StartEpochs:
    """What both schedules share: the start epoch is drawn below ``max_start_epoch``."""

    max_start_epoch: int

    @property
    def probe_epoch(self) -> int:
        """The next, not yet used start epoch."""
        return self.max_start_epoch

    def sample_start(self, rng: np.random.Generator) -> int:
        """A start epoch drawn uniformly from ``0 .. max_start_epoch - 1``."""
        return int(rng.integers(0, self.max_start_epoch))


@dataclass
class FixedSchedule(_StartEpochs):
    """MTT: start epochs drawn uniformly from ``0 .. max_start_epoch - 1``, forever.

    Raises
    ------
    ParameterError
        If ``max_start_epoch`` < 1.
    """

    max_start_epoch: int
    method: str = "mtt"
    finished: bool = False

    def __post_init__(self) -> None:
        if self.max_start_epoch < 1:
            raise ParameterError("max_start_epoch", self.max_start_epoch, "must be >= 1")

    @property
    def needs_probe(self) -> bool:
        """Whether the run must also measure the loss from ``probe_epoch``."""
        return False

    def lr_scale(self) -> float:
        """Multiplier of the initial image learning rate."""
        return 1.0

    def update(self, iteration: int, probe_loss: float | None, lr_img: float) -> list[str]:
        """Record one finished iteration; return messages about schedule changes."""
        return []

    def state_dict(self) -> dict[str, Any]:
        return {"method": self.method, "max_start_epoch": self.max_start_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.max_start_epoch = int(state["max_start_epoch"])


@dataclass
class AdaptiveSchedule(_StartEpochs):
    """STM: stages of rising maximum start epoch, then fine-tuning with lr decay.

    Parameters
    ----------
    limit
        Largest usable maximum start epoch: ``expert_epochs_available - expert_epochs``
        (a start epoch ``s`` needs the target epoch ``s + M`` in the buffer), so the
        schedule never goes past ``limit`` and starts fine-tuning there.
    constants
        :class:`STMConstants`.

    Raises
    ------
    ParameterError
        If ``limit`` < 1 (the buffer holds too few epochs for the matching length), or
        ``constants`` fails :meth:`STMConstants.check`.
    """

    limit: int
    constants: STMConstants = field(default_factory=STMConstants)
    method: str = "stm"
    max_start_epoch: int = 0
    phase: str = "stage"  # "stage" | "finetune" | "done"
    series: list[float] = field(default_factory=list)
    stage_iterations: int = 0
    finetune_iterations: int = 0
    decays: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.constants.check()
        if self.limit < 1:
            raise ParameterError("limit", self.limit, "must be >= 1 (buffer too short?)")
        if self.max_start_epoch == 0:
            self.max_start_epoch = min(self.constants.initial_max_start, self.limit)
        if self.max_start_epoch >= self.limit and self.phase == "stage":
            self.phase = "finetune"

    @property
    def finished(self) -> bool:
        return self.phase == "done"

    @property
    def needs_probe(self) -> bool:
        return self.phase == "stage"

    def lr_scale(self) -> float:
        return self.constants.decay_factor**self.decays

    def sigma(self) -> float:
        n = len(self.series)
        return math.sqrt(1.0 / (n - 2)) if n > 2 else float("inf")

    def update(self, iteration: int, probe_loss: float | None, lr_img: float) -> list[str]:
        """Record one finished iteration.

        Parameters
        ----------
        iteration
            Index of the iteration just done (for the history).
        probe_loss
            Matching loss from :attr:`probe_epoch` (ignored outside the stage phase).
        lr_img
            The *initial* image learning rate; fine-tuning ends when
            ``lr_img * lr_scale()`` falls below ``constants.lr_floor``.

        Returns
        -------
        list of str
            Human-readable events (advance, fine-tune, decay, done).
        """
        c = self.constants
        events: list[str] = []
        if self.phase == "stage":
            if probe_loss is not None and math.isfinite(probe_loss):
                self.series.append(float(probe_loss))
            self.stage_iterations += 1
            if self.stage_iterations % c.test_every == 0 and len(self.series) > 2:
                r, sigma = pearson_r(self.series), self.sigma()
                falling = r < -c.advance_below_sigma * sigma
                rising = r > c.advance_above_sigma * sigma
                if falling or rising:
                    self.max_start_epoch += 1
                    events.append(
                        f"iteration {iteration}: r={r:+.3f} ({'falling' if falling else 'rising'},"
                        f" sigma={sigma:.3f}, n={len(self.series)}); max start epoch -> "
                        f"{self.max_start_epoch}"
                    )
                    self.history.append(
                        {
                            "iteration": iteration,
                            "event": "advance",
                            "r": r,
                            "n": len(self.series),
                            "max_start_epoch": self.max_start_epoch,
                        }
                    )
                    self.series = []
                    self.stage_iterations = 0
                    if self.max_start_epoch >= self.limit:
                        events.append(
                            self._to_finetune(iteration, "reached the buffer's last start epoch")
                        )
                    return events
            if self.stage_iterations >= c.stage_limit:
                events.append(
                    self._to_finetune(iteration, f"stage not passed in {c.stage_limit} iterations")
                )
            return events
        if self.phase == "finetune":
            self.finetune_iterations += 1
            if self.finetune_iterations % c.decay_every == 0:
                self.decays += 1
                lr = lr_img * self.lr_scale()
                events.append(f"iteration {iteration}: image lr decayed to {lr:.4g}")
                if lr < c.lr_floor:
                    self.phase = "done"
                    events.append(
                        f"iteration {iteration}: image lr below the floor {c.lr_floor}; done"
                    )
                    self.history.append({"iteration": iteration, "event": "done", "lr_img": lr})
        return events

    def _to_finetune(self, iteration: int, why: str) -> str:
        self.phase = "finetune"
        self.series = []
        self.history.append(
            {"iteration": iteration, "event": "finetune", "max_start_epoch": self.max_start_epoch}
        )
        return f"iteration {iteration}: fine-tuning ({why}), max start epoch {self.max_start_epoch}"

    def state_dict(self) -> dict[str, Any]:
        state = asdict(self)
        state["constants"] = asdict(self.constants)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            if key == "constants":
                self.constants = STMConstants(**value)
            elif key != "method":
                setattr(self, key, value)
