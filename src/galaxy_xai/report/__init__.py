"""The self-contained HTML report of a run folder, built from its saved artefacts.

``build_report(run_dir, out)`` reads the layout described in
:mod:`galaxy_xai.report.artefacts` (whose ``write_*`` functions any pipeline can call)
and writes one HTML file with every image embedded, plus each figure's numbers as JSON
in ``<out stem>_assets/``.
"""

from galaxy_xai.report.artefacts import (
    collect_versions,
    list_panels,
    write_audit,
    write_bars,
    write_classification,
    write_features,
    write_gallery,
    write_model_card,
    write_prototypes,
    write_realism,
    write_run_info,
    write_sanity,
    write_training,
)
from galaxy_xai.report.build import build_report

__all__ = [
    "build_report",
    "collect_versions",
    "list_panels",
    "write_audit",
    "write_bars",
    "write_classification",
    "write_features",
    "write_gallery",
    "write_model_card",
    "write_prototypes",
    "write_realism",
    "write_run_info",
    "write_sanity",
    "write_training",
]
