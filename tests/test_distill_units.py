"""Augmentation, ZCA, class maps and labelled data for distillation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from galaxy_xai.data.store import write_dataset
from galaxy_xai.distill.augment import SiameseAugment
from galaxy_xai.distill.data import check_ipc, load_labelled, parse_class_map
from galaxy_xai.distill.digits import write_digits_dataset
from galaxy_xai.distill.zca import ZCA
from galaxy_xai.errors import DataFormatError, ParameterError


# ------------------------------------------------------------------ augmentation
def test_same_generator_same_transform_and_one_transform_per_batch() -> None:
    aug = SiameseAugment("crop_scale_rotate", mode="all")
    x = torch.rand(1, 1, 16, 16).repeat(4, 1, 1, 1)
    a = aug(x, torch.Generator().manual_seed(5))
    b = aug(x, torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)
    # siamese: identical inputs stay identical (one transform for the whole batch)
    torch.testing.assert_close(a[0], a[3])
    assert not torch.allclose(a, x)


def test_gradients_reach_the_images() -> None:
    x = torch.rand(3, 3, 16, 16, requires_grad=True)
    aug = SiameseAugment(mode="all")
    aug(x, torch.Generator().manual_seed(0)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_flip_is_a_mirror_or_identity_and_none_is_identity() -> None:
    x = torch.rand(2, 1, 8, 8)
    outs = [SiameseAugment("flip")(x, torch.Generator().manual_seed(s)) for s in range(8)]
    assert all(torch.equal(o, x) or torch.equal(o, x.flip(-1)) for o in outs)
    assert any(torch.equal(o, x.flip(-1)) for o in outs)
    assert SiameseAugment("none")(x) is x


def test_small_rotation_keeps_the_image_close() -> None:
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    blob = torch.exp(-((xx - 7.5) ** 2 + (yy - 7.5) ** 2) / 8)[None, None]
    rotated = SiameseAugment("rotate", rotate_deg=10)(blob, torch.Generator().manual_seed(1))
    # a round, centred blob is rotation invariant
    assert torch.allclose(rotated, blob, atol=0.05)


def test_unknown_augmentation_raises() -> None:
    with pytest.raises(ParameterError, match="augment='crop_blur'.*'blur'"):
        SiameseAugment("crop_blur")
    with pytest.raises(ParameterError, match="mode='each'"):
        SiameseAugment(mode="each")


# ------------------------------------------------------------------ ZCA
def test_zca_whitens_and_inverts(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    mix = torch.randn(12, 12, generator=g)
    x = (torch.randn(500, 12, generator=g) @ mix).view(500, 3, 2, 2)
    zca = ZCA.fit(x, eps=1e-6)
    w = zca.apply(x).reshape(500, -1)
    cov = torch.cov(w.T)
    torch.testing.assert_close(cov, torch.eye(12), atol=1e-2, rtol=0)
    torch.testing.assert_close(zca.invert(zca.apply(x)), x, atol=1e-3, rtol=1e-3)
    zca.save(tmp_path / "zca.pt")
    torch.testing.assert_close(ZCA.load(tmp_path / "zca.pt").apply(x), zca.apply(x))
    with pytest.raises(DataFormatError, match=r"fitted on images \(3, 2, 2\)"):
        zca.apply(torch.zeros(2, 1, 2, 2))
    with pytest.raises(ParameterError, match="eps=0"):
        ZCA.fit(x, eps=0)


# ------------------------------------------------------------------ class maps and data
def test_parse_class_map_forms() -> None:
    assert parse_class_map(None) is None
    gz1 = parse_class_map("gz1-4")
    assert gz1 == {0: "elliptical", 1: "spiral", 2: "spiral", 3: "edge-on", 5: "merger"}
    assert parse_class_map("0:a, 2:b") == {0: "a", 2: "b"}
    assert parse_class_map("ring:x,blob:y", ["blob", "ring"]) == {1: "x", 0: "y"}
    with pytest.raises(ParameterError, match="'3' is not 'old:new'"):
        parse_class_map("0:a,3")
    with pytest.raises(ParameterError, match="key 'spiral' is neither"):
        parse_class_map("spiral:a", ["blob"])


def _three_class_file(tmp_path: Path, counts: tuple[int, int, int]) -> Path:
    n = sum(counts)
    labels = np.repeat(np.arange(3), counts)
    images = np.random.default_rng(0).random((n, 1, 8, 8), dtype=np.float32)
    cat = pd.DataFrame({"id": [f"g{i}" for i in range(n)], "label": labels})
    path = tmp_path / "three.h5"
    write_dataset(path, images, cat, metadata={"label_names": ["e", "s", "m"]})
    return path


def test_load_labelled_merges_drops_and_splits(tmp_path: Path) -> None:
    path = _three_class_file(tmp_path, (40, 30, 20))
    data = load_labelled(path, class_map="0:round,2:round,1:disk")
    assert data.class_names == ["round", "disk"]
    assert torch.bincount(data.labels).tolist() == [60, 30]
    parts = data.parts
    assert sum(len(v) for v in parts.values()) == 90
    assert not set(parts["train"]) & set(parts["test"])
    x, _ = data.part("train")
    torch.testing.assert_close(x.mean(), torch.tensor(0.0), atol=1e-5, rtol=0)
    dropped = load_labelled(path, class_map="s:disk")
    assert dropped.class_names == ["disk"] and len(dropped.labels) == 30
    again = load_labelled(path, class_map="0:round,2:round,1:disk", split=data.split_record())
    assert all(np.array_equal(again.parts[k], parts[k]) for k in parts)


def test_empty_class_and_bad_target_raise(tmp_path: Path) -> None:
    path = _three_class_file(tmp_path, (40, 30, 20))
    with pytest.raises(DataFormatError, match=r"class\(es\) \['ghost'\] have no training images"):
        load_labelled(path, class_map="0:a,7:ghost")
    with pytest.raises(DataFormatError, match="no column 'kind'"):
        load_labelled(path, target="kind")


def test_check_ipc_names_the_smallest_class() -> None:
    labels = torch.tensor([0] * 9 + [1] * 3 + [2] * 5)
    check_ipc(3, labels, ["e", "m", "s"])
    with pytest.raises(ParameterError, match=r"ipc=4.*class 'm' has only 3 training"):
        check_ipc(4, labels, ["e", "m", "s"])
    with pytest.raises(ParameterError, match="ipc=0"):
        check_ipc(0, labels, ["e", "m", "s"])


def test_digits_dataset(tmp_path: Path) -> None:
    path = write_digits_dataset(tmp_path / "d.h5", size=12, limit=50)
    data = load_labelled(path)
    assert data.image_shape == (1, 12, 12) and data.class_names == [str(d) for d in range(10)]
    assert float(data.images.max()) <= 1.0 and float(data.images.min()) >= 0.0
    with pytest.raises(ParameterError, match="size=4"):
        write_digits_dataset(tmp_path / "e.h5", size=4)
