"""``galaxy-xai models ...``: trained-model files."""

from __future__ import annotations

import argparse
from typing import Any

from galaxy_xai.cli_types import output_path

__all__ = ["add_parser"]


def add_parser(subparsers: Any) -> None:
    """Add ``models`` and its subcommands."""
    parser = subparsers.add_parser("models", help="trained-model files: convert")
    sub = parser.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    p = sub.add_parser(
        "convert",
        help="convert an earlier version's model.pt into model.safetensors + model.json",
        description="Files that a weights-only load accepts are converted without "
        "unpickling anything. A file that needs full unpickling (which runs any code it "
        "holds) is converted only with --trust: use it only on files you made yourself.",
    )
    p.add_argument("path", help="model.pt, or the run folder holding it")
    p.add_argument(
        "--out", type=output_path, help="folder for the converted files (default: beside PATH)"
    )
    p.add_argument(
        "--trust",
        action="store_true",
        help="allow the unsafe (code-running) load for a file the safe reader refuses",
    )
    p.set_defaults(func=_convert)


def _convert(args: argparse.Namespace) -> int:
    from galaxy_xai.models.files import convert_legacy_model

    out = convert_legacy_model(args.path, args.out, trust=args.trust)
    print(f"converted {args.path} -> {out} (+ {out.with_suffix('.safetensors').name})")
    return 0
