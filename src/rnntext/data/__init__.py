"""The prepared dataset file and batch layouts (NumPy and h5py only)."""

from rnntext.data.dataset import FORMAT_VERSION, Dataset, open_dataset, prepare_dataset

__all__ = ["FORMAT_VERSION", "Dataset", "open_dataset", "prepare_dataset"]
