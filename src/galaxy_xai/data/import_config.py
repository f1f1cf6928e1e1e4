"""The settings of ``data import``: :class:`ImportConfig`, the keyword defaults of
:func:`galaxy_xai.data.importer.import_dataset` in one frozen dataclass.

Light to import (the command line reads its defaults for ``--help``); a test checks
that every field's default is the function's.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Literal

__all__ = ["CHANNELS", "MASK_FILLS", "STRETCHES", "ImportConfig"]

Channels = Literal["gray", "rgb", "all"]
Stretch = Literal["asinh", "linear"]
MaskFill = Literal["interpolate", "noise", "zero"]
CHANNELS: tuple[str, ...] = typing.get_args(Channels)
STRETCHES: tuple[str, ...] = typing.get_args(Stretch)
MASK_FILLS: tuple[str, ...] = typing.get_args(MaskFill)


@dataclass(frozen=True)
class ImportConfig:
    """How ``data import`` reads and preprocesses a catalogue's images.

    ``import_dataset(fmt, src, out, **dataclasses.asdict(config))`` imports with it.
    """

    size: int = 128  # output side, px (MIN_SIZE..MAX_SIZE of galaxy_xai.data.preprocess)
    crop: float = 1.0  # fraction (0, 1] of the side kept about the centre
    channels: Channels = "gray"
    stretch: Stretch = "asinh"  # float data (FITS, Galaxy Builder): asinh into [0, 1] or linear
    zero_masked: bool = True  # replace masked pixels (Galaxy Builder stars, artefacts)
    mask_fill: MaskFill = "interpolate"  # what replaces them: light + sky noise, noise, 0
    pattern: str | None = None  # fits: glob selecting files in a folder
    skip_bad: bool = False  # skip bad items, listing them in OUT.skipped.csv
    allow_outside_root: bool = False  # let the catalogue name files outside SRC
    workers: int = 1  # decoding processes
    limit: int | None = None  # import only the first N items
