"""Runner: ``python -m benchmarks NAME [NAME ...] [--quick]`` or ``--list``."""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import sys
import time
from pathlib import Path

from galaxy_xai.io import write_json

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def available() -> list[str]:
    """Names of all benchmarks (module names with '_' shown as '-')."""
    here = Path(__file__).resolve().parent
    return sorted(
        m.name.replace("_", "-")
        for m in pkgutil.iter_modules([str(here)])
        if not m.name.startswith("_")
    )


def takes_model(name: str) -> bool:
    """Whether benchmark ``name`` can score a given model (``--model zoo:NAME``)."""
    module = importlib.import_module(f"benchmarks.{name.replace('-', '_')}")
    return "model" in inspect.signature(module.run).parameters


def run_one(name: str, quick: bool, model: str | None = None) -> dict:
    module = importlib.import_module(f"benchmarks.{name.replace('-', '_')}")
    t0 = time.perf_counter()
    figures = dict(module.run(quick=quick, model=model) if model else module.run(quick=quick))
    if model:
        figures.setdefault("model", model)
    figures.setdefault("mode", "quick" if quick else "full")
    figures.setdefault("wall_s", round(time.perf_counter() - t0, 2))
    return figures


def print_table(name: str, figures: dict) -> None:
    width = max(len(k) for k in figures)
    print(f"\n{name}")
    print("-" * (width + 20))
    for key, value in figures.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmark names (see --list)")
    parser.add_argument(
        "--quick", action="store_true", help="small version that finishes within minutes"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    parser.add_argument(
        "--model",
        default=None,
        help="score this trained model (zoo:NAME, run folder) instead of training one; "
        "benchmarks that train a model take it",
    )
    args = parser.parse_args(argv)
    names = available()
    if args.list or not args.names:
        print("\n".join(names))
        return 0
    unknown = [n for n in args.names if n not in names]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    if args.model:
        refusing = [n for n in args.names if not takes_model(n)]
        if refusing:
            print(f"benchmark(s) {refusing} do not take --model", file=sys.stderr)
            return 2
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        figures = run_one(name, args.quick, args.model)
        print_table(name, figures)
        stem = (
            name if not args.model else f"{name}--{args.model.replace(':', '-').replace('/', '_')}"
        )
        out = write_json(RESULTS_DIR / f"{stem}.json", figures)
        print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
