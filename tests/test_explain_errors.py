"""Bad input to galaxy_xai.explain: clear errors naming the parameter, value or item."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from galaxy_xai.errors import DataFormatError, DataMissingError, ModelMismatchError, ParameterError
from galaxy_xai.explain import (
    MapWriter,
    attribute,
    deletion_insertion,
    open_maps,
    resolve_target,
    sanity_check,
)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.fc = nn.Linear(2 * 8 * 8, 3)
        self.output_names = ["smooth", "bar", "ring"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).flatten(1))


@pytest.fixture
def net() -> Net:
    torch.manual_seed(0)
    return Net().eval()


@pytest.fixture
def x() -> torch.Tensor:
    return torch.rand(2, 1, 8, 8)


def test_unknown_target_name_lists_the_outputs(net, x):
    with pytest.raises(ParameterError, match=r"target='spiral'.*\['smooth', 'bar', 'ring'\]"):
        attribute(net, x, method="gradient", target="spiral")


def test_target_index_out_of_range(net, x):
    with pytest.raises(ParameterError, match=r"target=3: index out of range.*valid: 0..2"):
        attribute(net, x, method="gradient", target=3)
    with pytest.raises(ParameterError, match=r"target=-1"):
        resolve_target(-1, n_outputs=3)


def test_missing_target_for_multi_output_model(net, x):
    with pytest.raises(ParameterError, match=r"target=None: choose which output"):
        attribute(net, x, method="gradient")


def test_string_index_and_name_without_names():
    assert resolve_target("2", n_outputs=3) == 2
    assert resolve_target("bar", output_names=["a", "bar"]) == 1
    with pytest.raises(ParameterError, match=r"no output names; give an index"):
        resolve_target("bar", n_outputs=2)
    with pytest.raises(ParameterError, match=r"output_names=.*has 2 names but the model has 3"):
        resolve_target(0, output_names=["a", "b"], n_outputs=3)


def test_unknown_method_lists_the_valid_ones(net, x):
    with pytest.raises(
        ParameterError, match=r"method='lrp': unknown; choose one of gradient, smoothgrad"
    ):
        attribute(net, x, method="lrp", target=0)
    with pytest.raises(ParameterError, match=r"method='deeplift'"):
        sanity_check(net, x, methods=["deeplift"], target=0)


def test_images_that_do_not_fit_the_model(net):
    with pytest.raises(
        ModelMismatchError, match=r"3 channel\(s\) but the model's first convolution expects 1"
    ):
        attribute(net, torch.rand(2, 3, 8, 8), method="gradient", target=0)
    with pytest.raises(ModelMismatchError, match=r"\(1, 16, 16\) do not fit the model"):
        attribute(net, torch.rand(2, 1, 16, 16), method="gradient", target=0)
    with pytest.raises(ParameterError, match=r"images=\(1, 8, 8\): must be a batch"):
        attribute(net, torch.rand(1, 8, 8), method="gradient", target=0)

    class Trained:
        model = net
        output_names = ("smooth", "bar", "ring")
        input_shape = (1, 8, 8)

    with pytest.raises(ModelMismatchError, match=r"expects \(1, 8, 8\)"):
        attribute(Trained(), torch.rand(2, 1, 8, 9), method="gradient", target=0)


def test_nan_images_and_nan_maps_name_the_item(net, x):
    bad = x.clone()
    bad[1, 0, 2, 2] = float("nan")
    with pytest.raises(DataFormatError, match=r"image id 'gal-b' has NaN"):
        attribute(net, bad, method="gradient", target=0, ids=["gal-a", "gal-b"])

    class Exploding(Net):
        def forward(self, t: torch.Tensor) -> torch.Tensor:
            return super().forward(t) * torch.where(t[:, :1, :1, :1].sum() > -1, torch.inf, 1.0)

    with pytest.raises(DataFormatError, match=r"gradient map of image id 'gal-a' has NaN"):
        attribute(Exploding(), x, method="gradient", target=0, ids=["gal-a", "gal-b"])


def test_bad_option_values(net, x):
    for kwargs, pattern in [
        ({"noise_level": -0.1}, r"noise_level=-0.1: must be a finite number >= 0"),
        ({"noise_level": float("nan")}, r"noise_level=nan"),
        ({"n_samples": 0}, r"n_samples=0: must be a positive integer"),
        ({"batch_size": 2.5}, r"batch_size=2.5"),
        ({"seed": "x"}, r"seed='x': must be an integer"),
        ({"noise_keys": [0]}, r"noise_keys='1 keys': needs one per image \(2\)"),
        ({"target": [0, 1, 2]}, r"needs one per image \(2\)"),
    ]:
        kwargs.setdefault("target", 0)
        with pytest.raises(ParameterError, match=pattern):
            attribute(net, x, method="smoothgrad", **kwargs)
    with pytest.raises(ParameterError, match=r"window_px=9: is larger than the images"):
        attribute(net, x, method="occlusion", target=0, window_px=9)
    with pytest.raises(ParameterError, match=r"layer='conv9': is not a submodule.*\['conv'\]"):
        attribute(net, x, method="gradcam", target=0, layer="conv9")
    with pytest.raises(ParameterError, match=r"baseline=\(3,\): cannot be broadcast"):
        attribute(net, x, method="integrated_gradients", target=0, baseline=np.zeros(3))
    with pytest.raises(ParameterError, match=r"mc_dropout=True: the model has no dropout layers"):
        attribute(net, x, method="gradient", target=0, mc_dropout=True)
    with pytest.raises(ParameterError, match=r"model='str': must be a torch nn.Module"):
        attribute("run", x, method="gradient", target=0)


def test_deletion_maps_must_match_images(net, x):
    with pytest.raises(ParameterError, match=r"maps=\(2, 4, 4\): must be \(N, H, W\)"):
        deletion_insertion(net, x, np.zeros((2, 4, 4)), target=0)
    with pytest.raises(ParameterError, match=r"score='logit'"):
        deletion_insertion(net, x, np.zeros((2, 8, 8)), target=0, score="logit")


def test_maps_files(tmp_path):
    with pytest.raises(DataMissingError, match=r"maps file '.*none.h5' does not exist"):
        open_maps(tmp_path / "none.h5")
    (tmp_path / "other.h5").write_bytes(b"not hdf5")
    with pytest.raises(DataFormatError, match=r"is not readable HDF5"):
        open_maps(tmp_path / "other.h5")
    with h5py.File(tmp_path / "plain.h5", "w") as h5:
        h5["x"] = 1
    with pytest.raises(DataFormatError, match=r"not a galaxy-xai maps file"):
        open_maps(tmp_path / "plain.h5")
    writer = MapWriter(tmp_path / "m.h5", ids=["a", "b"], map_shape=(2, 2))
    with pytest.raises(DataFormatError, match=r"map of id 'b' has NaN"):
        writer.write(0, np.array([np.zeros((2, 2)), np.full((2, 2), np.nan)]))
    writer.write(0, np.zeros((1, 2, 2)))
    with pytest.raises(DataFormatError, match=r"1 maps never written \(first ids: \['b'\]\)"):
        writer.close()
    with pytest.raises(DataMissingError, match=r"unfinished '.partial' file exists"):
        open_maps(tmp_path / "m.h5")
    # a finished file whose map holds NaNs (written by another tool): reading names the id
    with h5py.File(tmp_path / "m.h5.partial", "a") as h5:
        h5["maps"][1] = np.nan
        h5["_written"][1] = True
    finished = MapWriter(tmp_path / "m.h5", ids=["a", "b"], map_shape=(2, 2))
    assert len(finished.missing_indices()) == 0  # resumed the partial file
    finished.close()
    with open_maps(tmp_path / "m.h5") as maps:
        np.testing.assert_array_equal(maps.maps[0], 0.0)
        with pytest.raises(DataFormatError, match=r"map of id 'b' \(row 1\) has NaN"):
            maps.maps[:]
