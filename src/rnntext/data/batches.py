"""Batch layouts over a 1-D token split.

Streams (char-rnn, torch-rnn, the Caffe lab): the split is cut into B contiguous streams and
each batch is the next T-step window of every stream, so the hidden state can be carried from
one batch to the next (truncated backpropagation through time). Batches are read from the
h5py dataset a block at a time: a split is never loaded whole.
"""

from __future__ import annotations

import numpy as np

from rnntext.errors import DatasetError

BLOCK_WINDOWS = 32  # windows read per stream per h5py access: few reads, little memory


class StreamBatches:
    """Batch i of an epoch is (x, y), each (B, T), with y the inputs shifted by one."""

    def __init__(self, tokens, batch_size: int, seq_len: int, split: str = "train"):
        self.tokens, self.B, self.T = tokens, batch_size, seq_len
        n = int(tokens.shape[0])
        self.stream_len = (n - 1) // batch_size  # L: inputs per stream
        self.num_batches = self.stream_len // seq_len
        if self.num_batches == 0:
            raise DatasetError(
                f"the {split} split has {n} tokens, too few for batch_size {batch_size} x seq_len {seq_len} "
                f"(+1): use a smaller --batch-size or --seq-len, or give the {split} split a larger fraction")
        self._block_start, self._block = -1, None

    def __len__(self) -> int:
        return self.num_batches

    def batch(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """x, y: (B, T) int64 for window i of every stream."""
        block = i // BLOCK_WINDOWS
        if block != self._block_start:
            self._block = self._read_block(block)
            self._block_start = block
        lo = (i - block * BLOCK_WINDOWS) * self.T
        window = self._block[:, lo:lo + self.T + 1]  # (B, T+1)
        return window[:, :-1], window[:, 1:]

    def _read_block(self, block: int) -> np.ndarray:
        first = block * BLOCK_WINDOWS * self.T
        width = min(BLOCK_WINDOWS * self.T, self.num_batches * self.T - first) + 1
        rows = [np.asarray(self.tokens[b * self.stream_len + first: b * self.stream_len + first + width])
                for b in range(self.B)]
        return np.stack(rows).astype(np.int64)  # (B, width)
