"""Pre-packing PyTorch-named weights into the few float32 matrices one generation step needs.

The checkpoint holds PyTorch's parameters (gate orders LSTM i, f, g, o; GRU r, z, n). One
step at batch 1 is dominated by the number of NumPy calls, not arithmetic, so everything that
can be done once is done here:
- layer 0's input projection of every token (embedding row, or one-hot column, times W_ih,
  plus both biases) is a table (V, W): a step looks one row up instead of multiplying;
- a higher layer's input and recurrent matrices and its bias sit side by side in one matrix
  [W_x | b | W_h] (W, D + 1 + H) that multiplies the state laid out as [h_below, 1, h]:
  one matrix product per layer and step, the bias riding on the constant 1;
- the output layer is [W_out | b_out] (V, H + 1) against [h_last, 1];
- sigmoid gates are computed as sigmoid(x) = (1 + tanh(x / 2)) / 2, so their rows are
  pre-scaled by 1/2 (exact in float32) and one tanh covers every gate.

The packed gate layout is the cell's (rnntext.cells: `pack_rows`), W = packed_blocks * H rows:
LSTM (i/2, f/2, o/2, g), W = 4H; GRU (r/2, z/2, hn, in), W = 4H, where hn = W_hn h + b_hn (it
has no input part) and in = W_in x + b_in (no recurrent part), since PyTorch's
n = tanh(in + r * hn); vanilla RNN (a), W = H. The recurrent rows are the first
`rec` = gates * H of them: 4H, 3H (GRU: `in` has none) and H. A cell without recurrent weights
(minGRU, minLSTM) has none (rec = 0): its higher layers' matrices are [W_x | b] against
[h_below, 1], and every packed row is the step kernel's input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnntext import cells
from rnntext.cells.base import Cell
from rnntext.errors import RunError


@dataclass(frozen=True)
class Packed:
    """The packed float32 weights of one model (see the module docstring)."""

    cell: Cell
    hidden: tuple[int, ...]        # H_k per layer
    vocab_size: int
    table: np.ndarray              # (V, W_0) layer-0 pre-activations per token, biases folded
    rec0: np.ndarray               # (rec_0, H_0) layer-0 recurrent rows
    stacked: tuple[np.ndarray, ...]  # per layer k >= 1: (W_k, H_{k-1} + 1 + H_k) [W_x | b | W_h] ([W_x | b]: rec 0)
    out: np.ndarray                # (V, H_last + 1) [W_out | b_out]

    def width(self, k: int) -> int:
        """W_k: packed rows of layer k (GRU adds its `in` rows)."""
        return self.hidden[k] * self.cell.packed_blocks

    def rec(self, k: int) -> int:
        """Recurrent rows of layer k: those a product with h_k fills."""
        return self.hidden[k] * self.cell.recurrent_blocks


def pack(model_cfg, vocab_size: int, weights: dict[str, np.ndarray], label: int | None = None) -> Packed:
    """Pack checkpoint weights (PyTorch names, any float dtype) for `model_cfg` and V tokens.

    A model with labels gets one label's input column folded into the table: a fixed label
    costs nothing per step.
    """
    get = _getter(weights)
    hidden = tuple(model_cfg.hidden_sizes)
    cell = cells.get(model_cfg.cell)
    emb = get("embedding.weight", (vocab_size, model_cfg.embed_size)) if model_cfg.embed_size else None
    stacked, table, rec0 = [], None, None
    for k, H in enumerate(hidden):
        base = model_cfg.embed_size or vocab_size
        D = base + len(model_cfg.labels) if k == 0 else hidden[k - 1]
        shapes = cell.parameter_shapes(D, H)
        w_x, b, w_h = cell.pack_rows(H, *(get(f"rnn.{name}_l{k}", shape) for name, shape in shapes.items()))
        if k == 0:
            # (V, W): x @ W_x^T + b for every token; a one-hot x picks a column of W_x.
            table = (emb @ w_x[:, :base].T if emb is not None else w_x[:, :base].T) + b
            if model_cfg.labels:
                table = table + w_x[:, base + label]  # the label's one-hot column, every step
            rec0 = np.zeros((0, H)) if w_h is None else w_h[: cell.recurrent_blocks * H]
        else:
            stacked.append(np.concatenate([w_x, b[:, None], *([] if w_h is None else [w_h])], axis=1))
    if model_cfg.tie_weights:
        w_out = emb  # Press & Wolf (2017): the output layer reuses the embedding
    else:
        w_out = get("output.weight", (vocab_size, hidden[-1]))
    out = np.concatenate([w_out, get("output.bias", (vocab_size,))[:, None]], axis=1)
    f32 = lambda a: np.ascontiguousarray(a, np.float32)  # noqa: E731
    return Packed(cell, hidden, vocab_size, f32(table), f32(rec0), tuple(f32(m) for m in stacked), f32(out))


def _getter(weights):
    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in weights:
            raise RunError(f"the weights have no {name!r}: the checkpoint does not match its model.json")
        a = np.asarray(weights[name], np.float64)  # pack in float64, round once at the end
        if a.shape != shape:
            raise RunError(f"weight {name!r} has shape {a.shape}, model.json implies {shape}: "
                           "the checkpoint does not match its model.json")
        return a
    return get
