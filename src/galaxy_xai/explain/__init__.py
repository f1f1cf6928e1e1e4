"""Attribution maps you can trust: methods, catalogue-scale maps, sanity and faithfulness.

Methods (captum underneath; :func:`attribute` is the one verb) are declared once in
the registry of :mod:`galaxy_xai.explain.methods` (:data:`METHODS`: ``gradient``,
``smoothgrad``, ``smoothgrad_sq``, ``vargrad``, ``integrated_gradients``, ``gradcam``,
``occlusion``; :func:`register_method` adds one). :func:`explain_dataset` streams the maps of a dataset
file (optionally averaged over an ensemble of models) to a maps file read back with
:func:`open_maps`. :func:`sanity_check` runs the model-parameter randomisation test of
Adebayo et al. (2018); :func:`faithfulness` the deletion/insertion AUC and captum's
infidelity and max-sensitivity.
"""

from galaxy_xai.explain._base import analysis_mode, prepare_model
from galaxy_xai.explain.core import attribute, attribute_mc_dropout
from galaxy_xai.explain.dataset import explain_dataset, run_checks
from galaxy_xai.explain.faithfulness import deletion_insertion, faithfulness
from galaxy_xai.explain.maps_io import MapsFile, MapWriter, merge_maps, open_maps
from galaxy_xai.explain.methods import (
    DEFAULT_ABS,
    METHOD_SPECS,
    METHODS,
    MethodSpec,
    batch_method,
    noise_tunnel,
    register_method,
    row_method,
    unregister_method,
)
from galaxy_xai.explain.overlays import overlay_rgb, write_overlay
from galaxy_xai.explain.sanity import randomized_copy, rank_correlation, sanity_check
from galaxy_xai.explain.targets import resolve_target

__all__ = [
    "DEFAULT_ABS",
    "METHODS",
    "METHOD_SPECS",
    "MapWriter",
    "MapsFile",
    "MethodSpec",
    "analysis_mode",
    "attribute",
    "attribute_mc_dropout",
    "batch_method",
    "deletion_insertion",
    "explain_dataset",
    "faithfulness",
    "merge_maps",
    "noise_tunnel",
    "open_maps",
    "overlay_rgb",
    "prepare_model",
    "randomized_copy",
    "rank_correlation",
    "register_method",
    "resolve_target",
    "row_method",
    "run_checks",
    "sanity_check",
    "unregister_method",
    "write_overlay",
]
