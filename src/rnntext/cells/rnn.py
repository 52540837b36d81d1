"""The plain (Elman) recurrent cells: h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh or ReLU.

Elman (1990); PyTorch's nn.RNN with nonlinearity "tanh" or "relu". One gate block (G = 1),
state h only, packed rows (a), W = H, none halved.
"""

from __future__ import annotations

import numpy as np

from rnntext.cells.base import Cell, torch_tanh


class ElmanRNN(Cell):
    """The shared recurrence; subclasses give the activation, its derivative and torch's op."""

    gates, packed_blocks, halved_blocks = 1, 1, 0

    def activation(self, a: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, dh: np.ndarray, h: np.ndarray) -> np.ndarray:
        """dL/da given dL/dh and h = act(a)."""
        raise NotImplementedError

    def forward(self, xw, w_hh, b_hh, h):
        T, B, H = xw.shape
        hs = np.empty((T + 1, B, H), dtype=xw.dtype)  # hs[0] is the initial state
        hs[0] = h
        pre = xw + b_hh  # both biases folded once, not once per step
        for t in range(T):
            a = pre[t] + hs[t] @ w_hh.T  # (B, H)
            hs[t + 1] = self.activation(a)
        return hs[1:], hs[T].copy(), hs

    def backward(self, dout, w_hh, hs):
        T, B, H = dout.shape
        da = np.empty_like(dout)  # (T, B, H): gradient of the pre-activation
        dh_next = np.zeros((B, H), dtype=dout.dtype)
        for t in reversed(range(T)):
            dh = dout[t] + dh_next
            da[t] = self.derivative(dh, hs[t + 1])
            dh_next = da[t] @ w_hh
        dw_hh = da.reshape(T * B, H).T @ hs[:-1].reshape(T * B, H)
        db = da.sum(axis=(0, 1))
        return da, dw_hh, db

    def pack_rows(self, H, w_ih, w_hh, b_ih, b_hh):
        return w_ih, b_ih + b_hh, w_hh



class TanhRNN(ElmanRNN):
    name, torch_kernel = "rnn_tanh", "rnn_tanh"
    aliases = ("rnn",)  # the plain RNN most texts mean
    description = "Elman (1990) network with tanh: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (nn.RNN)"
    js_step = "{ step(gx, gh, s, H) { for (let j = 0; j < H; j++) s.h[j] = Math.tanh(gx[j] + gh[j]); } }"

    def activation(self, a):
        return np.tanh(a)

    def derivative(self, dh, h):
        return dh * (1.0 - h * h)

    def numpy_step(self, pre, h):
        return _Step(pre, h, np.tanh)

    def torch_step(self, pre, h):
        return _Step(pre, h, torch_tanh)


class ReLURNN(ElmanRNN):
    name, torch_kernel = "rnn_relu", "rnn_relu"
    description = "Elman network with ReLU: h' = max(0, W_ih x + b_ih + W_hh h + b_hh) (nn.RNN, Le et al. 2015)"
    js_step = "{ step(gx, gh, s, H) { for (let j = 0; j < H; j++) s.h[j] = Math.max(gx[j] + gh[j], 0); } }"

    def activation(self, a):
        return np.maximum(a, 0)

    def derivative(self, dh, h):
        return dh * (h > 0)

    def numpy_step(self, pre, h):
        return _Step(pre, h, lambda x, out: np.maximum(x, 0, out=out))

    def torch_step(self, pre, h):
        import torch

        return _Step(pre, h, lambda x, out: torch.clamp_min(x, 0, out=out))


class _Step:
    """pre (..., H) -> h = act(pre), written into h; `act(x, out=)` is a NumPy or torch function."""

    def __init__(self, pre, h, act):
        self.pre, self.h, self.act = pre, h, act
        self.state = (h,)

    def __call__(self, xin=None) -> None:
        self.act(self.pre, out=self.h)


CELLS = (TanhRNN(), ReLURNN())
