"""Reading galaxy catalogues and images, curating labels, and the dataset store."""

from galaxy_xai.data.splits import split_indices
from galaxy_xai.data.store import (
    DatasetWriter,
    GalaxyDataset,
    TorchGalaxyDataset,
    open_dataset,
    write_dataset,
)

__all__ = [
    "DatasetWriter",
    "GalaxyDataset",
    "TorchGalaxyDataset",
    "open_dataset",
    "split_indices",
    "write_dataset",
]
