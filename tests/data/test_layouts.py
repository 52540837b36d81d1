import numpy as np
import pytest

from rnntext.data.batches import LineBatches, WindowBatches
from rnntext.errors import DatasetError


def test_windows_with_stride_cover_every_start_once_per_epoch():
    tokens = np.arange(60)
    w = WindowBatches(tokens, batch_size=5, seq_len=4, stride=1, seed=3)
    seen = []
    for i in range(len(w)):
        x, y, mask, _ = w.batch(i, epoch=0)
        assert x.shape == (5, 4) and (y == x + 1).all() and mask.all()
        seen += x[:, 0].tolist()
    assert sorted(seen) == list(range(55))[:len(seen)] or len(set(seen)) == len(seen)
    assert len(set(seen)) == len(seen) == 55  # 56 starts, 11 full batches of 5
    assert w.batch(0, epoch=0)[0].tolist() == w.batch(0, epoch=0)[0].tolist()
    assert w.batch(0, epoch=0)[0].tolist() != w.batch(0, epoch=1)[0].tolist()  # reshuffled per epoch


def test_random_windows_and_last_position_loss():
    w = WindowBatches(np.arange(1000), batch_size=8, seq_len=7, stride=0, seed=1, loss_on="last")
    x, y, mask, _ = w.batch(2, epoch=4)
    assert (y == x + 1).all() and (x[:, 0] <= 1000 - 8).all()
    assert mask[:, :-1].sum() == 0 and mask[:, -1].all()
    assert np.array_equal(x, w.batch(2, epoch=4)[0])  # depends on (seed, epoch, i) only


def test_line_batches_mask_padding_and_bucket_by_length():
    S, E = 1, 2
    lines = [[S, 5, 6, E], [S, 5, 6, 7, 8, 9, E], [S, 7, E], [S, 9, 9, 9, 9, 9, 9, E]]
    tokens = np.array([t for line in lines for t in line])
    b = LineBatches(tokens, batch_size=2, seq_len=50, start_id=S, end_id=E, seed=0)
    assert len(b) == 2
    shapes = sorted(b.batch(i)[0].shape for i in range(2))
    assert shapes == [(2, 3), (2, 7)]  # short lines together, long ones together
    for i in range(2):
        x, y, mask, _ = b.batch(i)
        for row in range(2):
            n = int(mask[row].sum())
            assert x[row, 0] == S and y[row, n - 1] == E and mask[row, n:].sum() == 0


def test_lines_needs_start_tokens():
    with pytest.raises(DatasetError, match="no line"):
        LineBatches(np.array([5, 6, 7]), 2, 10, start_id=1, end_id=2, seed=0)
