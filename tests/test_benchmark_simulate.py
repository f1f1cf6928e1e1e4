"""The simulation-speed benchmark times every realism stand-in as it is rendered."""

from __future__ import annotations

from benchmarks.simulate import STAND_IN_RUNS, _suite_rate

from galaxy_xai.simulate.presets import STAND_INS


def test_every_stand_in_is_timed_and_renders() -> None:
    assert set(STAND_IN_RUNS) == set(STAND_INS)
    for name in STAND_IN_RUNS:
        assert _suite_rate(2, 64, seed=3, stand_in=name) > 0
