"""The last stage: ``DIR/run.json`` and ``DIR/report.html`` from the saved artefacts."""

from __future__ import annotations

from typing import Any

from galaxy_xai.config import config_to_dict
from galaxy_xai.demo.runner import Context, read_marker

__all__ = ["stage_report", "write_demo_run_info"]


def stage_report(ctx: Context) -> dict[str, Any]:
    """Write ``run.json`` (config, provenance, stage timings), then ``report.html``."""
    from galaxy_xai.report import build_report

    write_demo_run_info(ctx, ctx.timings)
    report = build_report(ctx.out, ctx.out / "report.html")
    return {"report": str(report)}


def write_demo_run_info(ctx: Context, timings: list[dict[str, Any]]) -> None:
    """The report's run description, with the provenance the data stages recorded."""
    from galaxy_xai.report import write_run_info

    provenance: dict[str, Any] = {}
    for name in ("simulate", "real"):
        marker = read_marker(ctx.stage_dir(name) / "done.json")
        if marker:
            provenance.update(marker.get("summary", {}).get("provenance", {}))
    cfg = ctx.config
    description = (
        f"The galaxy-xai demo: {cfg.n_source} SDSS-like galaxies simulated with GalSim "
        f"({cfg.image_size} px, barred and unbarred, bulge- and disk-dominated) train a "
        f"GaMorNet-style morphology network, and {cfg.n_bar_train} simulated disk galaxies "
        "(half barred) fine-tune the shipped bar network; the morphology network is "
        f"transferred to a second labelled set of {cfg.n_target} galaxies observed "
        "differently; predictions carry Monte Carlo dropout uncertainties; SmoothGrad maps "
        "of the bar output, checked by parameter randomisation, give bar lengths that are "
        "compared with the simulation truth; the training set is distilled into a few "
        "synthetic prototypes per class."
        + (f" Real data from {cfg.data}: Galaxy Zoo 1 and Galaxy Builder." if cfg.data else "")
        + (" Quick mode: tiny sizes, for a smoke test, not for science." if cfg.quick else "")
    )
    write_run_info(
        ctx.out,
        description=description,
        title="galaxy-xai demo" + (" (quick)" if ctx.config.quick else ""),
        config=config_to_dict(ctx.config),
        provenance=provenance,
        stages=timings,
    )
