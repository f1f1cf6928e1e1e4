"""MTT's fixed schedule and STM's self-adaptive schedule on synthetic loss series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from galaxy_xai.distill.schedule import AdaptiveSchedule, FixedSchedule, STMConstants, pearson_r
from galaxy_xai.errors import ParameterError


def _feed(schedule: AdaptiveSchedule, losses, lr_img: float = 100.0) -> list[str]:
    events = []
    for i, value in enumerate(losses):
        events += schedule.update(i, value, lr_img)
    return events


def test_pearson_r_matches_numpy() -> None:
    y = np.random.default_rng(3).normal(size=40) + np.linspace(0, 2, 40)
    assert pearson_r(y) == pytest.approx(np.corrcoef(np.arange(40), y)[0, 1])
    assert pearson_r([1.0, 2.0, 3.0]) == pytest.approx(1.0)
    assert math.isnan(pearson_r([2.0, 2.0, 2.0]))


def test_defaults_are_the_papers() -> None:
    c = STMConstants()
    assert (c.initial_max_start, c.test_every, c.stage_limit, c.decay_every) == (1, 10, 1000, 50)
    assert (c.advance_below_sigma, c.advance_above_sigma, c.decay_factor) == (5.0, 3.0, 0.8)
    s = AdaptiveSchedule(limit=30)
    assert s.max_start_epoch == 1 and s.needs_probe and s.probe_epoch == 1


def test_advances_on_a_decreasing_series_and_resets_it() -> None:
    s = AdaptiveSchedule(limit=30)
    # a strictly falling loss has r = -1, below -5 sigma = -5 / sqrt(n - 2) only once
    # n > 27: the tests at n = 10 and 20 stay, the one at n = 30 advances
    events = _feed(s, [1.0 - 0.01 * i for i in range(30)])
    assert s.max_start_epoch == 2
    assert len(events) == 1 and "falling" in events[0]
    assert s.series == [] and s.stage_iterations == 0
    assert s.history[0]["n"] == 30


def test_advances_on_an_increasing_series_sooner() -> None:
    s = AdaptiveSchedule(limit=30)
    # rising: r = 1 > 3 sigma needs sigma < 1/3, n - 2 > 9 -> first test at n = 20
    events = _feed(s, [0.5 + 0.01 * i for i in range(20)])
    assert s.max_start_epoch == 2 and "rising" in events[0]


def test_stays_on_noise() -> None:
    s = AdaptiveSchedule(limit=30, constants=STMConstants(stage_limit=10_000))
    noise = np.random.default_rng(0).normal(0.5, 0.05, size=600)
    assert _feed(s, noise) == []
    assert s.max_start_epoch == 1 and len(s.series) == 600


def test_fine_tunes_after_the_stage_limit_and_decays_lr_to_the_floor() -> None:
    c = STMConstants(stage_limit=40, decay_every=5, decay_factor=0.5, lr_floor=10.0)
    s = AdaptiveSchedule(limit=30, constants=c)
    noise = np.random.default_rng(1).normal(0.5, 0.05, size=40)
    events = _feed(s, noise)
    assert s.phase == "finetune" and not s.needs_probe and "fine-tuning" in events[-1]
    assert s.max_start_epoch == 1
    scales = []
    for i in range(100):
        s.update(100 + i, None, 100.0)
        scales.append(s.lr_scale())
        if s.finished:
            break
    # 100 -> 50 -> 25 -> 12.5 -> 6.25 < 10: done after 4 decays of 5 iterations
    assert s.finished and s.decays == 4 and len(scales) == 20
    assert scales[4] == 0.5 and 100.0 * s.lr_scale() < c.lr_floor


def test_never_goes_past_the_buffer_limit() -> None:
    s = AdaptiveSchedule(limit=3)
    for _ in range(5):
        _feed(s, [0.5 + 0.01 * i for i in range(20)])
    assert s.max_start_epoch == 3 and s.phase == "finetune"
    rng = np.random.default_rng(0)
    assert max(s.sample_start(rng) for _ in range(200)) == 2


def test_state_round_trip() -> None:
    s = AdaptiveSchedule(limit=10)
    _feed(s, [0.5 + 0.01 * i for i in range(25)])
    t = AdaptiveSchedule(limit=10)
    t.load_state_dict(s.state_dict())
    assert t.state_dict() == s.state_dict()


def test_fixed_schedule_samples_its_range() -> None:
    f = FixedSchedule(4)
    rng = np.random.default_rng(0)
    assert sorted({f.sample_start(rng) for _ in range(200)}) == [0, 1, 2, 3]
    assert f.update(0, 1.0, 100.0) == [] and f.lr_scale() == 1.0 and not f.needs_probe


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: FixedSchedule(0), "max_start_epoch=0"),
        (lambda: AdaptiveSchedule(limit=0), "limit=0"),
        (lambda: AdaptiveSchedule(limit=5, constants=STMConstants(test_every=2)), "test_every=2"),
        (
            lambda: AdaptiveSchedule(limit=5, constants=STMConstants(decay_factor=1.5)),
            "decay_factor",
        ),
    ],
)
def test_bad_constants_raise(make, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        make()
