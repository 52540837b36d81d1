"""Batch layouts over a 1-D token split.

Streams (char-rnn, torch-rnn, the Caffe lab): the split is cut into B contiguous streams and
each batch is the next T-step window of every stream, so the hidden state can be carried from
one batch to the next (truncated backpropagation through time). Batches are read from the
h5py dataset a block at a time: a split is never loaded whole.

Every layout answers `len()` and `batch(i, epoch) -> (x, y, mask, cond)`, with mask None or
a (B, T) float array of the positions that count in the loss, and cond None or the (B, T)
label ids of x's positions (conditioning). `carries_state` tells the
trainer whether the hidden state flows from one batch to the next.
"""

from __future__ import annotations

import numpy as np

from rnntext.data.room import check_room
from rnntext.errors import DatasetError
from rnntext.faces import ask

BLOCK_WINDOWS = 32  # windows read per stream per h5py access: few reads, little memory


class LabelIndex:
    """The label of any position of a split, from its segments [start, label id] (K, 2)."""

    def __init__(self, segments: np.ndarray):
        self.starts, self.ids = segments[:, 0], segments[:, 1]

    def at(self, positions: np.ndarray) -> np.ndarray:
        return self.ids[np.searchsorted(self.starts, positions, side="right") - 1]


def read_whole(tokens, split: str, purpose: str, advice: str) -> np.ndarray:
    """A split read whole as int64 ids (the window and line layouts index it anywhere), once it
    is known to fit in this process's memory (else a DatasetError saying `advice`)."""
    if isinstance(tokens, np.ndarray):
        return tokens.astype(np.int64, copy=False)
    n = int(tokens.shape[0])
    check_room(n * (8 + tokens.dtype.itemsize), f"the {split} split ({n:,} tokens) read whole for {purpose}",
               advice)
    return np.asarray(tokens[:]).astype(np.int64)


def _cond(labels, positions):
    return None if labels is None else labels.at(positions)


class StreamBatches:
    """Batch i of an epoch is (x, y), each (B, T), with y the inputs shifted by one."""

    carries_state = True

    def __init__(self, tokens, batch_size: int, seq_len: int, split: str = "train", labels=None,
                 streams: tuple[int, int] | None = None):
        self.tokens, self.T, self.labels = tokens, seq_len, labels
        n = int(tokens.shape[0])
        self.stream_len = (n - 1) // batch_size  # L: inputs per stream
        # A process of a distributed run reads only its own block [lo, hi) of the B streams.
        self.lo, self.hi = streams or (0, batch_size)
        self.B = self.hi - self.lo
        self.num_batches = self.stream_len // seq_len
        if self.num_batches == 0:
            raise DatasetError(
                f"the {split} split has {n} tokens, too few for batch_size {batch_size} x seq_len {seq_len} "
                f"(+1): use a smaller {ask('batch_size')} or {ask('seq_len')}, or give the {split} split a larger fraction")
        self._block_start, self._block = -1, None

    def __len__(self) -> int:
        return self.num_batches

    def batch(self, i: int, epoch: int = 0):
        """x, y: (B, T) int64 for window i of every stream, and no mask (every position counts)."""
        block = i // BLOCK_WINDOWS
        if block != self._block_start:
            self._block = self._read_block(block)
            self._block_start = block
        lo = (i - block * BLOCK_WINDOWS) * self.T
        window = self._block[:, lo:lo + self.T + 1]  # (B, T+1)
        positions = np.arange(self.lo, self.hi)[:, None] * self.stream_len + i * self.T + np.arange(self.T)  # (B, T)
        return window[:, :-1], window[:, 1:], None, _cond(self.labels, positions)

    def _read_block(self, block: int) -> np.ndarray:
        first = block * BLOCK_WINDOWS * self.T
        width = min(BLOCK_WINDOWS * self.T, self.num_batches * self.T - first) + 1
        rows = [np.asarray(self.tokens[b * self.stream_len + first: b * self.stream_len + first + width])
                for b in range(self.lo, self.hi)]
        return np.stack(rows).astype(np.int64)  # (B, width)


class TextBatches:
    """A whole text scored as the model would read it, every token but the first once, many
    streams at a time (rnntext.trained.Model.evaluate): the text is cut into `streams` contiguous
    rows read side by side in windows of T, the state carried along each row. Row 0 starts at
    the text's start; row b > 0 starts `warmup` tokens before the part it scores, so that its
    state has read them (unscored, masked) as one stream would have: the result is within a
    hair of one stream's, at a fraction of the steps. The last row is padded and masked."""

    carries_state = True

    def __init__(self, ids: np.ndarray, seq_len: int, label: int | None = None, streams: int = 1, warmup: int = 0):
        ids = np.asarray(ids, dtype=np.int64)
        n = len(ids) - 1  # targets
        B = max(1, min(streams, n // max(1, 4 * warmup) if warmup else n))
        L = -(-max(n - warmup, 1) // B)  # targets each row scores (row 0: warmup more)
        t = np.arange(B)[:, None] * L + np.arange(warmup + L)  # (B, R): the target index of each place
        self.mask = ((t < n) & ((np.arange(B)[:, None] == 0) | (np.arange(warmup + L) >= warmup))).astype(np.float64)
        inside = np.minimum(t, n - 1)
        self.x, self.y = ids[inside], ids[inside + 1]
        self.T, self.label, self.B = seq_len, label, B
        self.num_batches = -(-self.x.shape[1] // seq_len)

    def __len__(self) -> int:
        return self.num_batches

    def batch(self, i: int, epoch: int = 0):
        """x, y, mask: (B, t) with t <= T, and the label (B, t) of a conditioned model."""
        cut = slice(i * self.T, (i + 1) * self.T)
        x, y, mask = self.x[:, cut], self.y[:, cut], self.mask[:, cut]
        cond = None if self.label is None else np.full(x.shape, self.label)
        return x, y, (None if mask.all() else mask), cond


class WindowBatches:
    """Independent T-step windows (the NumPy and Keras labs); no state carries between batches.

    With stride s > 0 the windows start every s tokens and are shuffled once per epoch (Keras:
    100 characters in, stride 1); with stride 0 each batch draws B random starts (the NumPy
    lab). Windows are index views into the token array, never one-hot copies. Both depend only
    on (seed, epoch), so a resumed run sees the same batches. The mask selects the positions
    that count: all of them, or the last one (n tokens in, the next one out).
    """

    carries_state = False

    def __init__(self, tokens, batch_size: int, seq_len: int, stride: int, seed: int, loss_on: str = "all",
                 split: str = "train", labels=None):
        self.labels = labels
        self.tokens = read_whole(tokens, split, "the windows layout", "train with --batching streams (it reads a "
                                                                      "block at a time), or on a smaller dataset")
        self.B, self.T, self.stride, self.seed, self.loss_on = batch_size, seq_len, stride, seed, loss_on
        n = len(self.tokens)
        self.starts = n - seq_len  # windows fit at positions 0 .. n-T-1
        if self.starts < 1:
            raise DatasetError(f"the {split} split has {n} tokens, fewer than seq_len {seq_len} + 1: "
                               f"use a smaller {ask('seq_len')}")
        count = -(-self.starts // stride) if stride else max(1, self.starts // seq_len)
        self.num_batches = max(1, count // batch_size)
        self._epoch, self._order = -1, None

    def __len__(self) -> int:
        return self.num_batches

    def _starts(self, i: int, epoch: int) -> np.ndarray:
        if self.stride == 0:
            rng = np.random.default_rng([self.seed, epoch, i])
            return rng.integers(0, self.starts, self.B)
        if epoch != self._epoch:
            self._order = np.random.default_rng([self.seed, epoch]).permutation(np.arange(0, self.starts, self.stride))
            self._epoch = epoch
        return self._order[i * self.B:(i + 1) * self.B]

    def batch(self, i: int, epoch: int = 0):
        """x, y: (B, T) and the loss mask (B, T) for batch i of `epoch`."""
        starts = self._starts(i, epoch)
        idx = starts[:, None] + np.arange(self.T + 1)  # (B, T+1) indices: a view's worth, not a copy
        window = self.tokens[idx]
        mask = np.zeros((len(starts), self.T), np.float32)
        mask[:, -1 if self.loss_on == "last" else slice(None)] = 1
        return window[:, :-1], window[:, 1:], mask, _cond(self.labels, idx[:, :-1])


class LineBatches:
    """One sample per line, from its start token to its end token (the captions lab).

    Samples are sorted by length into buckets of B so that padding stays small; padding is
    masked out of the loss (the captions lab trained on it, and its model learnt to emit its
    end token forever). Lines longer than seq_len + 1 tokens are cut. Batch order is shuffled
    per epoch from (seed, epoch), so a resumed run sees the same batches.
    """

    carries_state = False

    def __init__(self, tokens, batch_size: int, seq_len: int, start_id: int, end_id: int, seed: int,
                 split: str = "train", labels=None):
        self.labels = labels
        self.tokens = read_whole(tokens, split, "the line layout", "train on a smaller dataset, or on a machine "
                                                                   "with more memory")
        self.B, self.T, self.end, self.seed = batch_size, seq_len, end_id, seed
        starts = np.flatnonzero(self.tokens == start_id)
        ends = np.append(starts[1:], len(self.tokens))  # (S,) each sample runs to the next start
        lengths = np.minimum(ends - starts, seq_len + 1)
        keep = lengths >= 2
        self.starts, self.lengths = starts[keep], lengths[keep]
        if len(self.starts) == 0:
            raise DatasetError(f"the {split} split holds no line of two or more tokens: check {ask('lines', True)} and the text")
        order = np.argsort(self.lengths, kind="stable")
        self.buckets = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        self.num_batches = len(self.buckets)
        self._epoch, self._perm = -1, None

    def __len__(self) -> int:
        return self.num_batches

    def batch(self, i: int, epoch: int = 0):
        """x, y, mask: (b, L) with L the longest sample of the bucket less one."""
        if epoch != self._epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.num_batches)
            self._epoch = epoch
        members = self.buckets[self._perm[i]]
        L = int(self.lengths[members].max())
        window = np.full((len(members), L), self.end, np.int64)  # (b, L) padded with the end token
        mask = np.zeros((len(members), L - 1), np.float32)
        for row, j in enumerate(members):
            n = int(self.lengths[j])
            window[row, :n] = self.tokens[self.starts[j]:self.starts[j] + n]
            mask[row, :n - 1] = 1
        positions = np.minimum(self.starts[members][:, None] + np.arange(L - 1), len(self.tokens) - 1)  # (b, L-1)
        return window[:, :-1], window[:, 1:], mask, _cond(self.labels, positions)
