"""argparse types of the command line: bounded numbers, device counts, output paths.

Each type turns the text of one option into its value, or raises
:class:`argparse.ArgumentTypeError` with a message holding the text and what would be
right; argparse puts the option's name in front, so a user reads, on one line::

    galaxy-xai train: error: argument --lr: 'inf' is not a finite number > 0

Numbers are finite (``nan`` and ``inf`` are refused) and inside the option's range.
This module imports nothing heavy: ``commands`` modules use it at parser build time.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COUNT",
    "FRACTION",
    "NON_NEGATIVE",
    "POSITIVE",
    "SEED",
    "Number",
    "devices",
    "number_list",
    "output_path",
]

#: Lightning's (and numpy's legacy) seeds are unsigned 32-bit integers.
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class Number:
    """A finite ``int`` or ``float`` option in ``[low, high]``.

    Parameters
    ----------
    kind
        ``int`` or ``float``: how the text is read (``int`` refuses ``1.5`` and ``1e3``).
    low, high
        The bounds; None for none.
    low_open, high_open
        Exclude the bound itself (``low=0, low_open=True`` means ``> 0``).
    """

    kind: type[int] | type[float] = float
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __call__(self, text: str) -> Any:
        try:
            value = self.kind(text)
        except ValueError:
            value = None
        if value is None or not self._accepts(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {self.describe()}")
        return value

    def _accepts(self, value: float) -> bool:
        if self.kind is float and not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or not (
            value > self.high or (self.high_open and value == self.high)
        )

    def describe(self) -> str:
        """What the option accepts, e.g. ``"an integer >= 1"`` or ``"a number in (0, 1]"``."""
        low, high = _plain(self.low), _plain(self.high)
        if self.low is not None and self.high is not None:  # bounded: finite goes unsaid
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            noun = "an integer" if self.kind is int else "a number"
            return f"{noun} in {left}{low}, {high}{right}"
        noun = "an integer" if self.kind is int else "a finite number"
        if self.low is not None:
            return f"{noun} {'>' if self.low_open else '>='} {low}"
        if self.high is not None:
            return f"{noun} {'<' if self.high_open else '<='} {high}"
        return noun


def _plain(bound: float | None) -> str:
    """A bound as a user writes it: ``0`` and ``1000``, not ``0.0`` and ``1000.0``."""
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


#: A count of things that must exist at least once (epochs, images, workers...).
COUNT = Number(int, 1)
#: A random seed.
SEED = Number(int, 0, MAX_SEED)
#: A strictly positive finite number (learning rates, pixel scales).
POSITIVE = Number(float, 0.0, low_open=True)
#: A finite number >= 0 (a rate that may be zero, a smoothing sigma).
NON_NEGATIVE = Number(float, 0.0)
#: A fraction or probability in [0, 1].
FRACTION = Number(float, 0.0, 1.0)


def number_list(item: Number) -> Callable[[str], tuple[Any, ...]]:
    """A type reading comma-separated values (``"0.7,0.8"``), each checked by ``item``.

    An empty list (``""`` or ``","``) is refused too.
    """

    def parse(text: str) -> tuple[Any, ...]:
        parts = [v.strip() for v in text.split(",") if v.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(
                f"{text!r} holds no value; give comma-separated values, each {item.describe()}"
            )
        values = []
        for part in parts:
            try:
                values.append(item(part))
            except argparse.ArgumentTypeError as exc:
                where = f" (in {text!r})" if len(parts) > 1 else ""
                raise argparse.ArgumentTypeError(f"{exc}{where}") from None
        return tuple(values)

    parse.__name__ = "number_list"
    return parse


def devices(text: str) -> int | str:
    """``--devices``: ``auto`` or a count of devices >= 1."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(COUNT(text))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'auto' or an integer >= 1") from None


def output_path(text: str) -> str:
    """An output path, refused unless it is valid UTF-8.

    A name whose bytes are not UTF-8 reaches Python with lone surrogates; such a path
    cannot be written into the JSON and HDF5 files that record where outputs are, so a
    run written there could not be loaded again.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        from galaxy_xai.data.images import safe_text

        raise argparse.ArgumentTypeError(
            f"'{safe_text(text)}' is not valid UTF-8; choose a path of UTF-8 characters"
        ) from None
    return text
