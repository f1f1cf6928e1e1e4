"""Safe output writing (temporary name, renamed when complete) and checked JSON reading.

An interrupted job must never leave a file that looks finished, and two jobs must
never write the same output at once. Every writer in galaxy-xai goes through
:func:`atomic_output` (or, for resumable HDF5 writers, holds an :class:`OutputLock`):
the partial file ``<out>.partial`` is written under an exclusive lock on
``<out>.partial.lock``, which is removed when the writer finishes or gives up.

JSON files a user hands us (summaries, manifests, splits, model cards) are untrusted:
:func:`read_json` turns every way they can be broken (missing, not UTF-8, not JSON, a
field of the wrong type) into one :class:`~galaxy_xai.errors.DataFormatError` naming
the file and the field.
"""

from __future__ import annotations

import json
import os
import types
import typing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from galaxy_xai.errors import DataFormatError, DataMissingError, OutputBusyError

__all__ = [
    "OutputLock",
    "atomic_output",
    "check_json_fields",
    "lock_path",
    "partial_path",
    "read_json",
    "safe_text",
    "write_json",
]


def partial_path(path: str | os.PathLike[str]) -> Path:
    """Return the temporary name used while ``path`` is being written.

    The partial file sits in the same folder (so the final rename is atomic on POSIX)
    and ends in ``.partial`` so that no reader mistakes it for a finished output.
    """
    path = Path(path)
    return path.with_name(path.name + ".partial")


def lock_path(path: str | os.PathLike[str]) -> Path:
    """Return the lock file held while ``path`` is being written (``<path>.partial.lock``)."""
    partial = partial_path(path)
    return partial.with_name(partial.name + ".lock")


class OutputLock:
    """An exclusive, non-blocking lock on the partial file of one output.

    The lock is an OS file lock (:class:`filelock.FileLock`, ``flock`` on POSIX) on
    :func:`lock_path`, so it is released by the kernel if the process dies; the lock
    file itself is removed on :meth:`release` (a file left by a killed process is
    harmless: the next writer takes it over).

    Parameters
    ----------
    path
        The final output path (not the partial file).

    Examples
    --------
    >>> with OutputLock("out.h5"):  # doctest: +SKIP
    ...     write_partial_and_rename()
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.lock_file = lock_path(self.path)
        self._lock: Any = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._lock is not None

    def acquire(self) -> Self:
        """Take the lock now or fail (never waits).

        Raises
        ------
        OutputBusyError
            If another process (or another writer in this one) holds it.
        """
        from filelock import FileLock, Timeout

        if self._lock is not None:
            return self
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.lock_file), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise OutputBusyError(
                f"another process is writing '{self.path}' (lock '{self.lock_file}'); "
                "wait for it to finish or write to another path"
            ) from None
        self._lock = lock
        return self

    def release(self) -> None:
        """Remove the lock file and release the lock (does nothing if not held)."""
        lock, self._lock = self._lock, None
        if lock is None:
            return
        try:
            # Unlinked while still held: a process that opened the old file and then
            # wins flock on it sees it unlinked and does not count it as the lock.
            self.lock_file.unlink(missing_ok=True)
        finally:
            lock.release()

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


@contextmanager
def atomic_output(path: str | os.PathLike[str], *, keep_partial: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write to; rename it to ``path`` on success.

    The partial file is written under an exclusive :class:`OutputLock`, taken before
    the block runs and released (its lock file removed) when it ends either way.

    Parameters
    ----------
    path
        The final output path. Its parent folder is created if needed.
    keep_partial
        Keep the partial file when the block raises (for resumable jobs), instead of
        deleting it. Either way ``path`` itself is never created by a failed block.

    Raises
    ------
    OutputBusyError
        If another process is writing ``path`` now (nothing is touched then).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(final)
    with OutputLock(final):
        try:
            yield tmp
        except BaseException:
            if not keep_partial:
                tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, final)


def write_json(path: str | os.PathLike[str], obj: Any, *, indent: int = 2) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (NaN written as ``null``)."""

    def _clean(value: Any) -> Any:
        if isinstance(value, float) and value != value:  # NaN
            return None
        if isinstance(value, dict):
            return {str(k): _clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [_clean(v) for v in value]
        if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
            return _clean(value.item())
        return value

    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(_clean(obj), indent=indent, sort_keys=False) + "\n")
    return Path(path)


# JSON type names for messages (singular with article, plural), by Python type.
_JSON_TYPE_NAMES = {
    dict: ("an object", "objects"), list: ("a list", "lists"), str: ("text", "text"),
    bool: ("true or false", "true/false values"), int: ("an integer", "integers"),
    float: ("a number", "numbers"),
}  # fmt: skip


def _json_type_name(value: object) -> str:
    if value is None:
        return "null"
    for kind, (name, _) in _JSON_TYPE_NAMES.items():
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _item_kind(kind: Any) -> Any:
    """What each item of ``list[...]`` or value of ``dict[str, ...]`` must be."""
    args = typing.get_args(kind)
    return args[1] if typing.get_origin(kind) is dict else args[0]


def _alternatives(kind: Any) -> tuple[Any, ...] | None:
    """The types of a union (``str | int``), else None."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return typing.get_args(kind)
    return None


def _fits(value: object, kind: Any) -> bool:
    """Whether a JSON value has the type ``kind`` (``str``, ``float``, ``list[str]``...).

    ``float`` accepts integers; ``int`` and ``float`` refuse ``true``/``false``.
    """
    if (union := _alternatives(kind)) is not None:
        return any(_fits(value, k) for k in union)
    origin = typing.get_origin(kind)
    if origin is list:
        return isinstance(value, list) and all(_fits(v, _item_kind(kind)) for v in value)
    if origin is dict:
        _, item = typing.get_args(kind)
        return isinstance(value, dict) and all(_fits(v, item) for v in value.values())
    if isinstance(value, bool) and kind in (int, float):
        return False
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def _kind_name(kind: Any, *, plural: bool = False) -> str:
    if (union := _alternatives(kind)) is not None:
        return " or ".join(_kind_name(k, plural=plural) for k in union)
    origin = typing.get_origin(kind)
    if origin in (list, dict):
        item = _item_kind(kind)
        return f"{_JSON_TYPE_NAMES[origin][plural]} of {_kind_name(item, plural=True)}"
    names = _JSON_TYPE_NAMES.get(kind)
    return names[plural] if names else kind.__name__


def check_json_fields(
    data: Mapping[str, Any],
    fields: Mapping[str, Any],
    *,
    where: str,
    required: tuple[str, ...] = (),
) -> None:
    """Check the types of a JSON object's fields.

    Parameters
    ----------
    data
        The parsed JSON object.
    fields
        Field name -> type it must have when present: ``str``, ``int``, ``float``
        (any number), ``bool``, ``dict``, ``list``, ``list[str]``, ``dict[str, float]``,
        or a union of these (``list[str | int]``); ``None`` (JSON ``null``) is accepted
        for optional fields.
    where
        The file, for messages.
    required
        Fields that must be present (and not null).

    Raises
    ------
    DataFormatError
        Naming the file, the first missing or mistyped field, what it holds and what
        it should hold.
    """
    for name in required:
        if data.get(name) is None:
            raise DataFormatError(f"'{where}' has no '{name}' field")
    for name, kind in fields.items():
        value = data.get(name)
        if value is not None and not _fits(value, kind):
            raise DataFormatError(
                f"'{where}' field '{name}' must be {_kind_name(kind)}, "
                f"found {_json_type_name(value)}"
            )


def safe_text(value: object) -> str:
    """``str(value)`` that prints and encodes as UTF-8 whatever bytes it came from.

    File names that are not valid UTF-8 reach Python as lone surrogates
    (``'\\udcff'``); these become ``\\xff`` escapes, so messages, logs and HDF5
    strings never raise :class:`UnicodeEncodeError`.
    """
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate that is no escaped byte
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
        return raw.decode("utf-8", "backslashreplace")
    return text


def read_json(
    path: str | os.PathLike[str],
    *,
    what: str = "JSON file",
    fields: Mapping[str, Any] | None = None,
    required: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Read a JSON object from a file a user may have handed us, checked.

    Parameters
    ----------
    path
        The file.
    what
        What the file is, for messages (``"split file"``).
    fields, required
        Field types and required fields, checked by :func:`check_json_fields`.

    Raises
    ------
    DataMissingError
        If the file does not exist.
    DataFormatError
        If it is not UTF-8, not JSON, not a JSON object, or a field has the wrong type.
    """
    path = Path(path)
    shown = safe_text(path)
    if not path.is_file():
        raise DataMissingError(f"{what} '{shown}' does not exist")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"{what} '{shown}' is not valid UTF-8 (byte {exc.start}: "
            f"{exc.object[exc.start : exc.end]!r})"
        ) from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DataFormatError(f"{what} '{shown}' is not valid JSON: {exc}") from None
    except OSError as exc:
        raise DataFormatError(f"{what} '{shown}' cannot be read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise DataFormatError(
            f"{what} '{shown}' must hold a JSON object, found {_json_type_name(data)}"
        )
    try:
        check_json_fields(data, fields or {}, where=shown, required=required)
    except DataFormatError as exc:
        raise DataFormatError(f"{what} {exc}") from None
    return data
