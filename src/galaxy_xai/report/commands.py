"""``galaxy-xai report RUN_DIR --out report.html``."""

from __future__ import annotations

import argparse
from typing import Any

from galaxy_xai.cli_types import output_path

__all__ = ["add_parser"]


def add_parser(subparsers: Any) -> None:
    """Add the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report",
        help="build the self-contained HTML report of a run folder",
        description="Build one self-contained HTML file (images embedded) from the saved "
        "artefacts of a run folder (e.g. 'galaxy-xai demo --out RUN'); each figure's "
        "numbers are written as JSON to <report stem>_assets/ beside it. Nothing is "
        "retrained; missing artefacts are reported in their section.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run folder")
    parser.add_argument(
        "--out",
        default=None,
        type=output_path,
        help="HTML file to write (default RUN_DIR/report.html)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from galaxy_xai.report.build import build_report

    out = build_report(args.run_dir, args.out)
    print(out)
    return 0
