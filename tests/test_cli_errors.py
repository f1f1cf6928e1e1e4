"""Library errors name Python parameters; the CLI prints them as the options typed."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from galaxy_xai.cli import _as_option_error, _command_parser, build_parser, main
from galaxy_xai.errors import DataFormatError, ParameterError


def _toy_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr-lr", type=float)
    parser.add_argument("--data")
    return parser


def test_parameter_name_becomes_the_flag_that_sets_it() -> None:
    text = _as_option_error(ParameterError("lr_lr", -1.0, "must be >= 0"), _toy_parser())
    assert text == "--lr-lr=-1.0: must be >= 0"


def test_path_suffix_maps_to_the_option_without_it() -> None:
    text = _as_option_error(
        ParameterError("data_path", "x.h5", "images must be square"), _toy_parser()
    )
    assert text == "--data='x.h5': images must be square"


def test_names_without_an_option_and_other_errors_are_unchanged() -> None:
    config_key = ParameterError("stm_decay_every", 0, "must be >= 1")
    assert _as_option_error(config_key, _toy_parser()) == "stm_decay_every=0: must be >= 1"
    other = DataFormatError("file 'a.csv' has no column 'id'")
    assert _as_option_error(other, _toy_parser()) == str(other)
    assert _as_option_error(config_key, None) == str(config_key)


def test_command_parser_is_found_by_its_handler() -> None:
    parser = build_parser()
    args = parser.parse_args(["distill", "run", "--buffer", "b", "--ipc", "1", "--out", "o"])
    found = _command_parser(parser, func_of=args.func)
    assert found is not None
    assert "--lr-lr" in {flag for a in found._actions for flag in a.option_strings}


def test_library_error_reaches_the_user_as_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from galaxy_xai.demo.runner import run_demo

    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    with pytest.raises(ParameterError, match=r"^out='.*a_file': is a file"):
        run_demo(a_file)
    assert main(["demo", "--out", str(a_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--out='" in err[0] and "is a file; give a folder" in err[0]
