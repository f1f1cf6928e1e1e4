"""Config loading, seeded splits, atomic output, and the CLI shell."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from galaxy_xai import __version__
from galaxy_xai.cli import main
from galaxy_xai.config import config_to_dict, load_config
from galaxy_xai.data.splits import split_indices
from galaxy_xai.errors import ConfigError, ParameterError
from galaxy_xai.io import atomic_output, write_json


@dataclasses.dataclass(frozen=True)
class _Inner:
    sigma: float = 1.0  # noise level


@dataclasses.dataclass(frozen=True)
class _Outer:
    n: int = 3
    name: str = "x"
    inner: _Inner = dataclasses.field(default_factory=_Inner)
    sizes: tuple[int, ...] = (1, 2)


def test_load_config_nested_yaml_and_toml(tmp_path):
    (tmp_path / "c.yaml").write_text("n: 5\ninner:\n  sigma: 2\nsizes: [4, 5, 6]\n")
    cfg = load_config(_Outer, tmp_path / "c.yaml")
    assert cfg == _Outer(n=5, inner=_Inner(sigma=2.0), sizes=(4, 5, 6))
    (tmp_path / "c.toml").write_text('name = "y"\n[inner]\nsigma = 0.5\n')
    assert load_config(_Outer, tmp_path / "c.toml", n=9) == _Outer(n=9, name="y", inner=_Inner(0.5))
    assert config_to_dict(cfg)["inner"] == {"sigma": 2.0}


def test_load_config_rejects_unknown_and_wrong_types(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 'sigmaa'.*valid keys: sigma"):
        load_config(_Outer, {"inner": {"sigmaa": 1}})
    with pytest.raises(ConfigError, match="n: expected an integer"):
        load_config(_Outer, {"n": "five"})


def test_split_is_stable_disjoint_and_stratified():
    ids = [f"g{i}" for i in range(200)]
    labels = [i % 4 for i in range(200)]
    a = split_indices(ids, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=3, stratify=labels)
    b = split_indices(
        ids[::-1], {"train": 0.6, "val": 0.2, "test": 0.2}, seed=3, stratify=labels[::-1]
    )
    test_a = {ids[i] for i in a["test"]}
    test_b = {ids[::-1][i] for i in b["test"]}
    assert test_a == test_b
    allidx = np.concatenate(list(a.values()))
    assert sorted(allidx.tolist()) == list(range(200))
    assert np.bincount(np.array(labels)[a["test"]]).tolist() == [10, 10, 10, 10]
    assert (
        split_indices(ids, {"train": 0.8, "test": 0.2}, seed=4)["test"].tolist()
        != a["test"].tolist()
    )
    with pytest.raises(ParameterError, match="sum to 1"):
        split_indices(ids, {"train": 0.5})


def test_atomic_output_never_leaves_final_file(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert not target.exists() and not tmp.exists()
    write_json(target, {"a": float("nan"), "b": np.float32(1.5)})
    assert target.read_text().replace(" ", "").replace("\n", "") == '{"a":null,"b":1.5}'


def test_cli_version_and_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out
    assert main([]) == 0
    assert "COMMAND" in capsys.readouterr().out


def test_console_script_runs():
    out = subprocess.run(
        [sys.executable, "-m", "galaxy_xai", "--help"], capture_output=True, text=True, check=True
    )
    assert "galaxy-xai" in out.stdout


def test_shards_are_disjoint_and_cover():
    from galaxy_xai.sharding import parse_shard, shard_range

    parts = [shard_range(10, *parse_shard(f"{i}/3")) for i in range(3)]
    assert np.concatenate(parts).tolist() == list(range(10))
    assert parse_shard(None) == (0, 1)
    for bad in ("3/3", "a/b", "1", "-1/2"):
        with pytest.raises(ParameterError, match="shard="):
            parse_shard(bad)
