"""The package's error hierarchy.

Every error galaxy-xai raises on bad input derives from :class:`GalaxyXAIError`, so the
CLI can catch exactly these in ``main()`` and print one clear line, while bugs still
show a traceback. Each subclass also derives from the matching built-in, so callers
can catch ``ValueError``/``KeyError``/``OSError`` as they would elsewhere.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataFormatError",
    "DataMissingError",
    "GalaxyXAIError",
    "ModelMismatchError",
    "OutputBusyError",
    "ParameterError",
    "UnsafeFileError",
]


class GalaxyXAIError(Exception):
    """Base class of every error galaxy-xai raises on bad input."""


class ParameterError(GalaxyXAIError, ValueError):
    """An impossible or out-of-range parameter; the message names it and its value.

    Parameters
    ----------
    name
        The Python parameter or config field (``lr_lr``, ``shard``), never a CLI flag:
        ``galaxy_xai.cli.main`` prints it as the option the user typed (``--lr-lr``).
    value
        The offending value.
    reason
        What is wrong and, where possible, what would be right.
    """

    def __init__(self, name: str, value: object, reason: str) -> None:
        self.name = name
        self.value = value
        self.reason = reason
        super().__init__(f"{name}={value!r}: {reason}")


class ConfigError(GalaxyXAIError, ValueError):
    """A configuration file or mapping that cannot be used (unknown key, wrong type)."""


class DataFormatError(GalaxyXAIError, ValueError):
    """Input data that exists but is malformed: corrupt image, NaN pixels, bad columns."""


class DataMissingError(GalaxyXAIError, FileNotFoundError):
    """An input file or folder that does not exist."""


class ModelMismatchError(GalaxyXAIError, ValueError):
    """A checkpoint, dataset or buffer that does not fit the model it is used with."""


class OutputBusyError(GalaxyXAIError, OSError):
    """An output that another process is writing right now (its partial file is locked)."""


class UnsafeFileError(ModelMismatchError):
    """A file that only full unpickling could read (so it could run code): refused."""
