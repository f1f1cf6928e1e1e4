"""Reading galaxy catalogues and images, curating labels, and the dataset store.

- :func:`import_dataset` (``galaxy-xai data import``): any supported format into one
  HDF5 store; :func:`open_dataset` reads it back (lazy images + catalogue).
- Readers (:mod:`galaxy_xai.data.readers`): ``read_gz1``, ``read_gz2_kaggle``,
  ``read_gz2_kaggle_folders``, ``read_gz2_hart16``, ``read_gz_decals``,
  ``read_galaxy10``, ``read_galaxy_builder``, ``read_fits_cutouts``, ``read_folder``;
  catalogue-only ``read_gz2_votes_table`` and ``read_hoyle_bar_lengths``.
- Curation (:mod:`galaxy_xai.data.curation`): GaMorNet labels, GZ2 decision tree,
  the nine classes of Guan et al. (2023), confident class-balanced subsets.
"""

from galaxy_xai.data.curation import (
    GZ2_NINE_CLASS_NAMES,
    answer_fractions,
    balanced_subset,
    gamornet_labels,
    gz2_nine_class,
    majority_answers,
    most_confident_per_class,
)
from galaxy_xai.data.importer import FORMATS, import_dataset, open_source
from galaxy_xai.data.info import dataset_info
from galaxy_xai.data.readers import (
    ImageSource,
    read_fits_cutouts,
    read_folder,
    read_galaxy10,
    read_galaxy_builder,
    read_gz1,
    read_gz1_labels,
    read_gz2_hart16,
    read_gz2_kaggle,
    read_gz2_kaggle_folders,
    read_gz2_votes_table,
    read_gz_decals,
    read_hoyle_bar_lengths,
)
from galaxy_xai.data.splits import read_split_ids, split_indices
from galaxy_xai.data.store import (
    DatasetWriter,
    GalaxyDataset,
    TorchGalaxyDataset,
    open_dataset,
    write_dataset,
)
from galaxy_xai.data.subset import subset_dataset

__all__ = [
    "FORMATS",
    "GZ2_NINE_CLASS_NAMES",
    "DatasetWriter",
    "GalaxyDataset",
    "ImageSource",
    "TorchGalaxyDataset",
    "answer_fractions",
    "balanced_subset",
    "dataset_info",
    "gamornet_labels",
    "gz2_nine_class",
    "import_dataset",
    "majority_answers",
    "most_confident_per_class",
    "open_dataset",
    "open_source",
    "read_fits_cutouts",
    "read_folder",
    "read_galaxy10",
    "read_galaxy_builder",
    "read_gz1",
    "read_gz1_labels",
    "read_gz2_hart16",
    "read_gz2_kaggle",
    "read_gz2_kaggle_folders",
    "read_gz2_votes_table",
    "read_gz_decals",
    "read_hoyle_bar_lengths",
    "read_split_ids",
    "split_indices",
    "subset_dataset",
    "write_dataset",
]
