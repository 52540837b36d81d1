"""The prepared dataset file (dataset.py), batch layouts (batches.py) and atomic writes
(atomic.py): NumPy and h5py only."""
