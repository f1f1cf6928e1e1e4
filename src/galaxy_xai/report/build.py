"""Build the self-contained HTML report of a run folder from its saved artefacts.

Nothing is recomputed from models: the report reads only what the stages saved (see
:mod:`galaxy_xai.report.artefacts`), so it can be rebuilt at any time, e.g. after a
style change, without retraining. A section whose artefacts are missing or unreadable
says so instead of failing the whole report.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from galaxy_xai.errors import DataMissingError, GalaxyXAIError, ParameterError
from galaxy_xai.io import atomic_output, write_json
from galaxy_xai.report import artefacts as art
from galaxy_xai.report import figures as fg
from galaxy_xai.report.html import (
    Section,
    definition_table,
    figure_html,
    missing_html,
    page_html,
    row_html,
    table_html,
)

__all__ = ["SECTION_TITLES", "assets_dir", "build_report"]

logger = logging.getLogger(__name__)

# Section id -> heading, in report order.
SECTION_TITLES = {
    "overview": "Overview",
    "gallery": "Gallery: saliency maps and measured bars",
    "bars": "Bar lengths: measured vs true",
    "classification": "Classification: confusion matrices and reliability",
    "training": "Training curves",
    "sanity": "Sanity checks of the attribution methods",
    "distillation": "Distilled prototypes",
    "realism": "Realism: simulated vs real galaxies",
    "models": "Shipped models: cards and figures on this run's galaxies",
    "features": "Features: bulge size and B/T from saliency, with controls",
    "audit": "Label audit: likely label errors (confident learning)",
    "provenance": "Configuration, versions and data provenance",
}
#: Sections left out (no notice) when the run folder has none of their panels: a run
#: that never compared simulations with real galaxies is not missing anything.
OPTIONAL_SECTIONS = frozenset({"realism", "models", "features", "audit"})
# What each section needs, for the "missing" notices.
_WRITERS = {
    "gallery": "galaxy_xai.report.artefacts.write_gallery (demo stage 'explain'/'bars')",
    "bars": "galaxy_xai.report.artefacts.write_bars (demo stage 'bars')",
    "classification": "galaxy_xai.report.artefacts.write_classification (demo stage 'predict')",
    "training": "galaxy_xai.report.artefacts.write_training (demo stages 'train_*', 'transfer')",
    "sanity": "galaxy_xai.report.artefacts.write_sanity (demo stage 'explain')",
    "distillation": "galaxy_xai.report.artefacts.write_prototypes (demo stage 'distill')",
    "realism": "galaxy_xai.report.artefacts.write_realism (python -m benchmarks sim-realism)",
    "models": "galaxy_xai.report.artefacts.write_model_card (demo stage 'zoo')",
    "features": "galaxy_xai.report.artefacts.write_features (demo stage 'features')",
    "audit": "galaxy_xai.report.artefacts.write_audit (galaxy-xai audit --out RUN, or --report-dir RUN)",
}


def assets_dir(out: str | os.PathLike[str]) -> Path:
    """Folder beside the report holding each figure's numbers (``<stem>_assets``)."""
    out = Path(out)
    return out.with_name(out.stem + "_assets")


@dataclass
class _Builder:
    """What a report build collects as it renders: figures, missing notices, headline."""

    run_dir: Path
    assets: Path
    figures: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)
    headline: list[dict[str, Any]] = field(default_factory=list)

    def figure(self, fig_id: str, result: fg.FigureResult, caption: str) -> str:
        """The figure's HTML, its numbers and PNG written to the assets folder."""
        json_path = self.assets / f"{fig_id}.json"
        png_path = self.assets / f"{fig_id}.png"
        write_json(json_path, {"figure": fig_id, "caption": caption, **result.data})
        with atomic_output(png_path) as tmp:
            tmp.write_bytes(result.png)
        self.figures.append(
            {"id": fig_id, "caption": caption, "json": json_path.name, "png": png_path.name}
        )
        href = f"{self.assets.name}/{json_path.name}"
        return figure_html(result.png, alt=result.alt, caption=caption, json_href=href)

    def headline_numbers(self, title: str, metrics: dict[str, Any], prefix: str) -> None:
        """Add to the headline every number of ``metrics`` whose key starts with ``prefix``."""
        for key, value in metrics.items():
            if key.startswith(prefix) and isinstance(value, int | float):
                self.headline.append({"result": title, "figure": key, "value": value})

    def missing_notice(self, section: str, message: str) -> str:
        """A "missing" notice, recorded for ``index.json`` and the overview, and logged."""
        self.missing.append({"section": section, "message": message})
        logger.warning("report section %r: %s", section, message)
        return missing_html(message)

    def panels(
        self,
        section: str,
        reader: Callable[[Path, str], Any],
        render: Callable[[_Builder, Any], str],
    ) -> str:
        """Every panel of ``section`` rendered; a notice for each that cannot be read."""
        names = art.list_panels(self.run_dir, section)
        if not names:
            return self.missing_notice(
                section,
                f"no artefacts in '{self.run_dir / section}'; they are written by "
                f"{_WRITERS[section]}, which did not run or did not finish.",
            )
        parts = []
        for name in names:
            try:
                panel = reader(self.run_dir, name)
                parts.append(render(self, panel))
            except GalaxyXAIError as exc:
                parts.append(
                    self.missing_notice(section, f"panel '{name}' could not be read: {exc}")
                )
        return "".join(parts)


def _heading(panel: Any) -> str:
    """The panel's heading (with its anchor) and description."""
    desc = f'<p class="description">{escape(panel.description)}</p>' if panel.description else ""
    return f'<h3 id="{escape(_section_of(panel))}-{escape(panel.name)}">{escape(panel.title)}</h3>{desc}'


def _section_of(panel: Any) -> str:
    """The section a panel belongs to, from its type."""
    return {
        art.GalleryPanel: "gallery",
        art.BarPanel: "bars",
        art.ClassificationPanel: "classification",
        art.TrainingPanel: "training",
        art.SanityPanel: "sanity",
        art.PrototypePanel: "distillation",
        art.RealismPanel: "realism",
        art.ModelCardPanel: "models",
        art.FeaturesPanel: "features",
        art.AuditPanel: "audit",
    }[type(panel)]


def _metrics_table(metrics: dict[str, Any], caption: str) -> str:
    """A table of the scalar (or short) entries of ``metrics``; empty if none."""
    flat = {k: v for k, v in metrics.items() if not isinstance(v, dict | list) or len(str(v)) < 80}
    return definition_table(flat, caption=caption) if flat else ""


def build_report(
    run_dir: str | os.PathLike[str], out: str | os.PathLike[str] | None = None
) -> Path:
    """Write the run's self-contained HTML report and the numbers of every figure.

    Parameters
    ----------
    run_dir
        A run folder laid out as in :mod:`galaxy_xai.report.artefacts`.
    out
        The HTML file to write; default ``RUN/report.html``. Each figure's numbers go
        to ``<out stem>_assets/<figure>.json`` (with the PNG), plus ``index.json``
        listing the figures and the missing artefacts.

    Returns
    -------
    Path
        The written HTML file.

    Raises
    ------
    DataMissingError
        If ``run_dir`` is not a folder.
    ParameterError
        If ``out`` is an existing folder or does not end in ``.html``/``.htm``.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataMissingError(f"run folder '{run_dir}' does not exist")
    out = Path(out) if out is not None else run_dir / "report.html"
    if out.is_dir() or out.suffix.lower() not in (".html", ".htm"):
        raise ParameterError("out", str(out), "must be an HTML file path ending in .html")
    b = _Builder(run_dir, assets_dir(out))
    b.assets.mkdir(parents=True, exist_ok=True)
    try:
        info = art.read_run_info(run_dir)
        info_error = None
    except GalaxyXAIError as exc:
        info, info_error = {}, str(exc)

    bodies = _panel_bodies(b)
    bodies["provenance"] = _provenance_body(b, info, info_error)
    bodies["overview"] = _overview_body(b, info)  # last: it counts the others' notices
    title = str(info.get("title") or f"galaxy-xai report: {run_dir.name}")
    sections = [
        Section(sid, heading, bodies[sid])
        for sid, heading in SECTION_TITLES.items()
        if sid not in OPTIONAL_SECTIONS or art.list_panels(run_dir, sid)
    ]
    subtitle = f"Run folder {run_dir.resolve()}"
    if info.get("created"):
        subtitle += f", created {info['created']}"
    html_text = page_html(title, sections, subtitle=subtitle)

    _write_assets_index(b, title)
    with atomic_output(out) as tmp:
        tmp.write_text(html_text, encoding="utf-8")
    logger.info(
        "report written to %s (%d figures, %d missing)", out, len(b.figures), len(b.missing)
    )
    return out


def _panel_bodies(b: _Builder) -> dict[str, str]:
    """The HTML of every panel section, rendered in report order.

    An optional section (:data:`OPTIONAL_SECTIONS`) without panels is left empty
    (no notice); any other section without panels gets a "missing" notice.
    """
    bodies = {}
    for section, (reader, render) in _PANEL_SECTIONS.items():
        if section in OPTIONAL_SECTIONS and not art.list_panels(b.run_dir, section):
            bodies[section] = ""
        else:
            bodies[section] = b.panels(section, reader, render)
    return bodies


def _write_assets_index(b: _Builder, title: str) -> None:
    """Remove figures an earlier build left behind, then write ``index.json``."""
    written = {f["json"] for f in b.figures} | {f["png"] for f in b.figures} | {"index.json"}
    for stale in b.assets.iterdir():
        if stale.is_file() and stale.suffix in (".json", ".png") and stale.name not in written:
            stale.unlink()
    write_json(
        b.assets / "index.json",
        {
            "title": title,
            "run_dir": str(b.run_dir.resolve()),
            "figures": b.figures,
            "missing": b.missing,
            "headline": b.headline,
        },
    )


# --------------------------------------------------------------------------- panels
# Each renderer turns one panel into HTML, writing its figures' numbers through the
# builder and adding its headline figures to the overview.
def _render_gallery(b: _Builder, p: art.GalleryPanel) -> str:
    """Images with measured and true bars, over their saliency maps."""
    res = fg.gallery_figure(p)
    shown = res.data["n_shown"]
    return _heading(p) + b.figure(
        f"gallery-{p.name}",
        res,
        f"{shown} of {res.data['n_total']} galaxies. Top: the image with the measured "
        "bar (solid cyan, full length at the measured angle) and the true bar (dashed "
        "red, where known). Bottom: the saliency map (absolute value) over the image.",
    )


def _render_bars(b: _Builder, p: art.BarPanel) -> str:
    """Measured against true bar length, with the agreement figures."""
    res = fg.bar_scatter_figure(p)
    d = res.data
    b.headline.append({"result": p.title, "figure": "Pearson r", "value": d["pearson_r"]})
    b.headline.append({"result": p.title, "figure": f"RMSE [{p.unit}]", "value": d["rmse"]})
    stats = {
        "galaxies measured": d["n"],
        "galaxies without a measurement": d["n_missing"],
        "Pearson r": d["pearson_r"],
        f"RMSE [{p.unit}]": d["rmse"],
        f"mean bias (measured - true) [{p.unit}]": d["bias"],
    }
    return _heading(p) + row_html(
        b.figure(f"bars-{p.name}", res, "Measured against true bar length; dashed: the 1:1 line."),
        definition_table(stats, caption="Agreement (computed by the report)")
        + _metrics_table(p.metrics, "Evaluation reported by the bars stage"),
    )


def _render_classification(b: _Builder, p: art.ClassificationPanel) -> str:
    """Confusion matrix and reliability diagram, with the scores."""
    conf = fg.confusion_figure(p)
    rel = fg.reliability_figure(p)
    b.headline.append({"result": p.title, "figure": "accuracy", "value": conf.data["accuracy"]})
    b.headline.append({"result": p.title, "figure": "ECE", "value": rel.data["ece"]})
    stats = {
        "N": conf.data["n"],
        "accuracy": conf.data["accuracy"],
        "macro F1": conf.data["macro_f1"],
        "ECE (10 bins)": rel.data["ece"],
    }
    if "mean_uncertainty_correct" in rel.data:
        stats["mean uncertainty, correct"] = rel.data["mean_uncertainty_correct"]
        stats["mean uncertainty, wrong"] = rel.data["mean_uncertainty_wrong"]
    return (
        _heading(p)
        + row_html(
            b.figure(
                f"classification-{p.name}-confusion",
                conf,
                "Confusion matrix: counts and fraction of each true class.",
            ),
            b.figure(
                f"classification-{p.name}-reliability",
                rel,
                "Reliability diagram: accuracy per confidence bin; the dashed "
                "diagonal is perfect calibration.",
            ),
        )
        + row_html(
            definition_table(stats, caption="Scores (computed by the report)"),
            _metrics_table(p.metrics, "Metrics reported by the prediction stage"),
        )
    )


def _render_training(b: _Builder, p: art.TrainingPanel) -> str:
    """Per-epoch curves and the last epoch's values."""
    res = fg.training_figure(p)
    last = p.table.iloc[-1].to_dict() if len(p.table) else {}
    return (
        _heading(p)
        + b.figure(f"training-{p.name}", res, "Per-epoch losses and metrics.")
        + (definition_table(last, caption="Last epoch") if last else "")
    )


def _render_sanity(b: _Builder, p: art.SanityPanel) -> str:
    """Sanity-check scores per attribution method (and whether each passed)."""
    res = fg.sanity_figure(p)
    rows = [
        {"method": m, **s, **({"passed": p.passed[m]} if m in p.passed else {})}
        for m, s in p.scores.items()
    ]
    columns = ["method", *res.data["checks"], *(["passed"] if p.passed else [])]
    return (
        _heading(p)
        + b.figure(f"sanity-{p.name}", res, "Sanity-check scores per attribution method.")
        + table_html(rows, columns=columns, caption="Scores per method")
    )


def _render_distillation(b: _Builder, p: art.PrototypePanel) -> str:
    """The distilled prototypes and their accuracies."""
    res = fg.prototype_figure(p)
    for key in ("distilled_accuracy", "random_accuracy", "full_accuracy"):
        if key in p.metrics:
            b.headline.append({"result": p.title, "figure": key, "value": p.metrics[key]})
    return (
        _heading(p)
        + b.figure(f"distillation-{p.name}", res, "Synthetic prototypes, one row per class.")
        + _metrics_table(p.metrics, "Distillation results")
    )


def _render_realism(b: _Builder, p: art.RealismPanel) -> str:
    """Simulated against real distributions per quantity, with the domain AUCs."""
    res = fg.realism_figure(p)
    b.headline_numbers(p.title, p.metrics, "domain_auc")
    return (
        _heading(p)
        + b.figure(
            f"realism-{p.name}",
            res,
            "Simulated (blue) and real (orange) galaxies per quantity; KS: the largest "
            "gap between the two cumulative distributions (0: identical).",
        )
        + _metrics_table(p.metrics, "Domain AUC (0.5: a network cannot tell them apart)")
    )


def _render_model(b: _Builder, p: art.ModelCardPanel) -> str:
    """A shipped model's card, its test figures and its figures on this run's galaxies."""
    shown = {k: p.card[k] for k in art._CARD_SHOWN if k in p.card}
    prep = p.card.get("preprocessing") or {}
    if prep.get("import_command"):
        shown["import command"] = prep["import_command"]
    for key, value in p.metrics.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            b.headline.append({"result": p.title, "figure": key, "value": value})
    return _heading(p) + row_html(
        definition_table(shown, caption="Card"),
        _metrics_table(
            dict(p.card.get("test_metrics") or {}),
            "Test figures in the card (galaxies it never saw)",
        ),
        _metrics_table(p.metrics, "On this run's galaxies"),
    )


def _render_features(b: _Builder, p: art.FeaturesPanel) -> str:
    """Bulge measurements from saliency against their controls."""
    b.headline_numbers(p.title, p.metrics, "pearson_r")
    return (
        _heading(p)
        + b.figure(
            f"features-{p.name}",
            fg.features_figure(p),
            "Measured (calibrated on simulations only) vs true bulge-to-total and bulge "
            "half-light radius. saliency: from maps of the bulge output; image_only: the "
            "same measurement on a constant map (no saliency); size: the galaxy's "
            "half-light radius alone. Saliency is worth its cost only where it beats both.",
        )
        + _metrics_table(p.metrics, "Pearson r per method (95% bootstrap intervals)")
    )


def _render_audit(b: _Builder, p: art.AuditPanel) -> str:
    """The most likely label errors and the share flagged per class."""
    return (
        _heading(p)
        + b.figure(
            f"audit-{p.name}",
            fg.audit_figure(p),
            "The most likely label errors (cleanlab on out-of-sample probabilities; "
            "sc: the probability the networks gave the given label), each with the "
            "SmoothGrad map of the suggested class, and the share of each given class "
            "flagged. A flag is a suspicion for a reader to check, not a verdict.",
        )
        + _metrics_table(p.metrics, "Audit counts")
    )


#: Panel section -> (artefact reader, renderer), in report order.
_PANEL_SECTIONS: dict[str, tuple[Callable[[Path, str], Any], Callable[[_Builder, Any], str]]] = {
    "gallery": (art.read_gallery, _render_gallery),
    "bars": (art.read_bars, _render_bars),
    "classification": (art.read_classification, _render_classification),
    "training": (art.read_training, _render_training),
    "sanity": (art.read_sanity, _render_sanity),
    "distillation": (art.read_prototypes, _render_distillation),
    "realism": (art.read_realism, _render_realism),
    "models": (art.read_model_card, _render_model),
    "features": (art.read_features, _render_features),
    "audit": (art.read_audit, _render_audit),
}


def _overview_body(b: _Builder, info: dict[str, Any]) -> str:
    """The description, headline figures, stages and a count of missing artefacts."""
    parts = []
    if info.get("description"):
        parts.append(f"<p>{escape(str(info['description']))}</p>")
    parts.append(
        '<p class="description">Every figure below has its numbers in '
        f"<code>{escape(b.assets.name)}/</code> beside this file.</p>"
    )
    if b.headline:
        parts.append(
            table_html(
                b.headline, columns=["result", "figure", "value"], caption="Headline figures"
            )
        )
    stages = info.get("stages") or []
    if stages:
        parts.append(table_html(stages, caption="Stages"))
    if b.missing:
        parts.append(
            missing_html(
                f"{len(b.missing)} artefact(s) missing or unreadable; see the notices "
                "in the sections below."
            )
        )
    return "".join(parts)


def _provenance_body(b: _Builder, info: dict[str, Any], info_error: str | None) -> str:
    """Versions, data provenance and configuration (a notice if the run info is missing)."""
    if info_error is not None:
        return b.missing_notice(
            "provenance",
            f"{info_error}; it is written by galaxy_xai.report.artefacts.write_run_info "
            "(the demo writes it first).",
        )
    parts = []
    versions = info.get("versions") or {}
    parts.append(
        "<h3>Versions</h3>"
        + (definition_table(versions) if versions else missing_html("no versions recorded"))
    )
    provenance = info.get("provenance") or {}
    parts.append("<h3>Data provenance</h3>")
    if provenance:
        for name, desc in provenance.items():
            if isinstance(desc, dict):
                parts.append(definition_table(desc, caption=str(name)))
            else:
                parts.append(definition_table({str(name): desc}))
    else:
        parts.append(missing_html("no data provenance recorded"))
    parts.append("<h3>Configuration</h3>")
    if info.get("command"):
        parts.append(definition_table({"command": info["command"]}))
    parts.append(
        f"<pre>{escape(json.dumps(info.get('config') or {}, indent=2, default=str))}</pre>"
    )
    return "".join(parts)
