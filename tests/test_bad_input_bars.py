"""Bad catalogues and calibration files given to ``bars``: one line naming file and cell."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from galaxy_xai.bars.evaluate import evaluate_files
from galaxy_xai.cli import main
from galaxy_xai.errors import DataFormatError

GOOD = "id,bar_length_px\na,3\nb,4\nc,5\nd,7\n"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, text in {
        "good.csv": GOOD,
        "text_pred.csv": "id,bar_length_px\na,3\nb,abc\nc,5\nd,6\n",
        "text_truth.csv": "id,bar_length_px\na,3\nb,4\nc,x\nd,6\n",
        "empty.csv": "",
        "header_only.csv": "id,bar_length_px\n",
    }.items():
        (tmp_path / name).write_text(text)
        out[name] = tmp_path / name
    frame = pd.DataFrame({"id": list("abcd"), "bar_length_px": [1.0, 2.0, 3.0, 5.0]})
    frame.to_parquet(tmp_path / "ok.parquet")
    (tmp_path / "garbage.parquet").write_bytes(b"PAR1garbage")
    (tmp_path / "truncated.parquet").write_bytes((tmp_path / "ok.parquet").read_bytes()[:100])
    for name in ("ok.parquet", "garbage.parquet", "truncated.parquet"):
        out[name] = tmp_path / name
    return out


@pytest.mark.parametrize(
    ("pred", "truth", "needle"),
    [
        ("text_pred.csv", "good.csv", "prediction file '{pred}' line 3, column 'bar_length_px': "
         "'abc' is not a number"),
        ("good.csv", "text_truth.csv", "truth catalogue '{truth}' line 4, column "
         "'bar_length_px': 'x' is not a number"),
        ("empty.csv", "good.csv", "prediction file '{pred}' cannot be parsed"),
        ("good.csv", "empty.csv", "truth catalogue '{truth}' cannot be parsed"),
        ("header_only.csv", "good.csv", "prediction file '{pred}' has no rows"),
        ("garbage.parquet", "good.csv", "prediction file '{pred}' cannot be parsed"),
        ("good.csv", "truncated.parquet", "truth catalogue '{truth}' cannot be parsed"),
    ],
)  # fmt: skip
def test_bad_tables_name_file_line_and_column(
    files: dict[str, Path], pred: str, truth: str, needle: str
) -> None:
    with pytest.raises(DataFormatError) as info:
        evaluate_files(files[pred], files[truth], n_boot=200)
    assert needle.format(pred=files[pred], truth=files[truth]) in str(info.value)


def test_good_parquet_is_read(files: dict[str, Path]) -> None:
    stats = evaluate_files(files["ok.parquet"], files["good.csv"], n_boot=200)
    assert stats["n_matched"] == 4 and stats["pearson_r"] > 0.9


def test_cli_text_in_length_column_is_one_line(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval.json"
    argv = ["bars", "evaluate", "--pred", str(files["text_pred.csv"]), "--truth",
            str(files["good.csv"]), "--length-col", "bar_length_px", "--out", str(out)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'abc' is not a number" in err, err
    assert not out.exists()
