"""GaMorNet labels from bulge-to-total."""

import numpy as np
import pytest

from galaxy_xai.data.curation import GAMORNET_CLASS_NAMES, gamornet_labels
from galaxy_xai.errors import ParameterError


def test_thresholds_default_and_configurable():
    bt = np.array([0.0, 0.44, 0.45, 0.5, 0.55, 0.56, 1.0])
    assert gamornet_labels(bt).tolist() == [0, 0, 1, 1, 1, 2, 2]
    assert gamornet_labels(bt, disk_max=0.5, bulge_min=0.5).tolist() == [0, 0, 0, 1, 2, 2, 2]
    assert GAMORNET_CLASS_NAMES[2] == "bulge-dominated"


def test_bad_values_named():
    with pytest.raises(ParameterError, match="bulge_to_total.*index 1"):
        gamornet_labels([0.2, 1.3])
    with pytest.raises(ParameterError, match="disk_max/bulge_min"):
        gamornet_labels([0.2], disk_max=0.6, bulge_min=0.5)
    with pytest.raises(ParameterError, match="nan"):
        gamornet_labels([np.nan])
