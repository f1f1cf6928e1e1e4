"""The HDF5 dataset store: round trip, laziness, atomic writes, resume, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from galaxy_xai.data.store import DatasetWriter, open_dataset, write_dataset
from galaxy_xai.errors import DataFormatError, DataMissingError, ParameterError
from galaxy_xai.io import partial_path


def _images(n: int, c: int = 1, size: int = 8) -> np.ndarray:
    return np.random.default_rng(0).random((n, c, size, size), dtype=np.float32)


def test_round_trip_float32_and_catalog(tmp_path):
    images = _images(5, 3)
    cat = pd.DataFrame(
        {
            "id": list("abcde"),
            "label": [0, 1, 0, 1, 1],
            "scale": [0.1, np.nan, 0.3, 0.4, 0.5],
            "flag": [True, False, True, True, False],
        }
    )
    path = write_dataset(tmp_path / "x.h5", images, cat, metadata={"label_names": ["e", "s"]})
    with open_dataset(path) as ds:
        assert len(ds) == 5 and ds.image_shape == (3, 8, 8)
        np.testing.assert_array_equal(ds.images[:], images)
        np.testing.assert_array_equal(ds.images[[4, 0, 4]], images[[4, 0, 4]])
        assert ds.catalog["id"].tolist() == list("abcde")
        assert ds.catalog["label"].dtype.kind == "i"
        assert np.isnan(ds.catalog["scale"][1]) and ds.catalog["scale"][2] == pytest.approx(0.3)
        assert ds.catalog["flag"].tolist() == [True, False, True, True, False]
        assert ds.label_names == ["e", "s"]


def test_uint8_storage_reads_back_in_unit_range(tmp_path):
    images = np.round(_images(3) * 255) / 255
    path = write_dataset(
        tmp_path / "u.h5", images, pd.DataFrame({"id": ["1", "2", "3"]}), storage_dtype="uint8"
    )
    with open_dataset(path) as ds:
        np.testing.assert_allclose(ds.images[:], images, atol=1e-6)
        assert ds.images[0].dtype == np.float32


def test_nan_pixels_rejected_with_row_and_id(tmp_path):
    images = _images(3)
    images[1, 0, 2, 2] = np.nan
    with pytest.raises(DataFormatError, match=r"row 1 \(id 'b'\).*NaN"):
        write_dataset(tmp_path / "n.h5", images, pd.DataFrame({"id": ["a", "b", "c"]}))
    assert not (tmp_path / "n.h5").exists()


def test_duplicate_ids_rejected(tmp_path):
    with pytest.raises(DataFormatError, match="duplicate id"):
        write_dataset(tmp_path / "d.h5", _images(2), pd.DataFrame({"id": ["a", "a"]}))
    assert not (tmp_path / "d.h5").exists()


def test_interrupted_write_leaves_no_finished_file_and_resumes(tmp_path):
    path = tmp_path / "r.h5"
    images = _images(4)
    rows = [{"id": str(i), "v": float(i)} for i in range(4)]
    with (
        pytest.raises(RuntimeError),
        DatasetWriter(path, n_images=4, image_shape=(1, 8, 8), fingerprint="f1") as w,
    ):
        w.write(0, images[:2], rows[:2])
        raise RuntimeError("killed")
    assert not path.exists() and partial_path(path).exists()
    with pytest.raises(DataMissingError, match="partial"):
        open_dataset(path)
    w = DatasetWriter(path, n_images=4, image_shape=(1, 8, 8), fingerprint="f1", resume=True)
    assert w.missing_indices().tolist() == [2, 3]
    w.write(2, images[2:], rows[2:])
    w.close()
    with open_dataset(path) as ds:
        np.testing.assert_array_equal(ds.images[:], images)
        assert ds.catalog["v"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_resume_with_other_fingerprint_starts_afresh(tmp_path):
    path = tmp_path / "r.h5"
    w = DatasetWriter(path, n_images=2, image_shape=(1, 8, 8), fingerprint="a")
    w.write(0, _images(1), [{"id": "x"}])
    w.abort()
    w = DatasetWriter(path, n_images=2, image_shape=(1, 8, 8), fingerprint="b", resume=True)
    assert w.missing_indices().tolist() == [0, 1]
    w.abort()


def test_close_with_missing_rows_raises(tmp_path):
    w = DatasetWriter(tmp_path / "m.h5", n_images=2, image_shape=(1, 8, 8))
    w.write(0, _images(1), [{"id": "x"}])
    with pytest.raises(DataFormatError, match="1 of 2 rows were never written"):
        w.close()
    w.abort()


def test_bad_shape_and_parameters(tmp_path):
    with pytest.raises(ParameterError, match="image_shape"):
        DatasetWriter(tmp_path / "b.h5", n_images=1, image_shape=(8, 8))
    w = DatasetWriter(tmp_path / "b.h5", n_images=1, image_shape=(1, 8, 8))
    with pytest.raises(DataFormatError, match="does not match"):
        w.write(0, _images(1, size=4), [{"id": "a"}])
    w.abort()


def test_not_a_dataset(tmp_path):
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(DataFormatError, match="not a readable HDF5"):
        open_dataset(tmp_path / "junk.h5")


def test_torch_dataset_lazy_and_pickleable(tiny_dataset):
    import pickle

    import torch

    with open_dataset(tiny_dataset) as ds:
        tds = ds.torch_dataset("label", indices=[3, 5, 7])
    tds = pickle.loads(pickle.dumps(tds))
    image, label = tds[1]
    assert image.shape == (1, 32, 32) and image.dtype == torch.float32
    assert label.dtype == torch.long and int(label) == 1
    x, y = tds.load_all()
    assert x.shape == (3, 1, 32, 32) and y.tolist() == [1, 1, 1]
    with pytest.raises(DataFormatError, match="no column"):
        open_dataset(tiny_dataset).torch_dataset("nope")


def test_id_positions_keeps_the_order_asked_and_lists_the_missing_ids():
    from galaxy_xai.data.subset import id_positions

    known = pd.Series(["a", "b", "c", "b"]).astype(str)
    positions, missing = id_positions(["c", 1, "b", "zz", "a"], known)
    assert positions.dtype == np.int64
    assert positions.tolist() == [2, 3, 0]  # a repeated id: its last position
    assert missing == [1, "zz"]
    positions, missing = id_positions([], known)
    assert positions.tolist() == [] and missing == []
