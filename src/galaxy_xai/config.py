"""Frozen-dataclass configuration loaded from YAML, TOML or a mapping.

Every tunable of galaxy-xai lives in a frozen dataclass with commented defaults.
:func:`load_config` builds one from a file or mapping, recursing into nested
dataclasses and rejecting unknown keys with a message that names the key and lists the
valid ones; :func:`config_to_dict` is its inverse, used to save the resolved config
beside every run's outputs.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from galaxy_xai.errors import ConfigError, DataMissingError

__all__ = ["config_to_dict", "load_config", "read_config_file", "save_config"]

T = TypeVar("T")


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file into a dict.

    Raises
    ------
    DataMissingError
        If the file does not exist.
    ConfigError
        If it cannot be parsed or does not hold a mapping at the top level.
    """
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(f"config file '{path}' does not exist")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"config file '{path}' line {line} is not valid UTF-8 "
            f"({exc.object[exc.start : exc.end]!r}); save it as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file '{path}' cannot be parsed: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping, found {type(data).__name__}")
    return data


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Convert ``value`` to the annotated type ``hint`` (dataclass, tuple, float...)."""
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if isinstance(value, hint):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping for {hint.__name__}, found {value!r}")
        return _build(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} does not fit {hint}")
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, found {value!r}")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], where) for v in value)
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} values, found {len(value)}")
        return tuple(_coerce(v, a, where) for v, a in zip(value, args, strict=True))
    if origin is typing.Literal:
        if value not in typing.get_args(hint):
            raise ConfigError(f"{where}: {value!r} is not one of {typing.get_args(hint)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, found {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, found {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, found {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, found {value!r}")
        return value
    return value


def _build(cls: type[T], data: Mapping[str, Any], where: str) -> T:
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"valid keys: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {
        name: _coerce(value, hints[name], f"{where}.{name}" if where else name)
        for name, value in data.items()
    }
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{where or cls.__name__}: {exc}") from exc


def load_config(
    cls: type[T],
    source: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    **overrides: Any,
) -> T:
    """Build the frozen dataclass ``cls`` from a file or mapping plus keyword overrides.

    Parameters
    ----------
    cls
        A dataclass type; nested dataclass fields take nested mappings.
    source
        Path to a YAML/TOML file, a mapping, or None for the defaults.
    **overrides
        Top-level keys that win over ``source`` (e.g. command-line options).
        Overrides whose value is None are ignored.

    Raises
    ------
    ConfigError
        On an unknown key (the message lists the valid ones) or a value of the wrong type.
    """
    if source is None:
        data: dict[str, Any] = {}
        where = cls.__name__
    elif isinstance(source, Mapping):
        data = dict(source)
        where = cls.__name__
    else:
        data = read_config_file(source)
        where = str(source)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return _build(cls, data, where)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Return a dataclass config as plain nested dicts/lists (JSON- and YAML-safe)."""

    def _plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, list | tuple):
            return [_plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): _plain(v) for k, v in value.items()}
        if isinstance(value, Path):
            return str(value)
        return value

    return _plain(config)


def save_config(config: Any, path: str | os.PathLike[str]) -> Path:
    """Write the resolved config, with the package version, as YAML (atomically)."""
    from galaxy_xai import __version__
    from galaxy_xai.io import atomic_output

    payload = {"galaxy_xai_version": __version__, "config": config_to_dict(config)}
    with atomic_output(path) as tmp:
        tmp.write_text(yaml.safe_dump(payload, sort_keys=False))
    return Path(path)
