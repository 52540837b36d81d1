"""The element-wise half of one recurrent step, in place on preallocated float32 buffers.

Each kernel is built once over views of the runtime's buffers (1-D for one stream, (B, ...)
for a batch) and then called once per layer and step: it turns the packed pre-activations
(see packing.py) into the new hidden state, written straight into the state buffer that the
next layer's matrix product reads. No call allocates; every NumPy call writes into `out=`.
"""

from __future__ import annotations

import numpy as np


class LSTMKernel:
    """pre (..., 4H) = (i/2, f/2, o/2, g) -> c = f*c + i*g, h = o*tanh(c)."""

    def __init__(self, pre: np.ndarray, h: np.ndarray):
        H = h.shape[-1]
        self.pre, self.h = pre, h
        self.sig = pre[..., : 3 * H]  # the three sigmoid gates, pre-scaled by 1/2
        self.i, self.f, self.o, self.g = (pre[..., j * H:(j + 1) * H] for j in range(4))
        self.c = np.zeros(h.shape, np.float32)
        self.tmp = np.zeros(h.shape, np.float32)
        self.state = (h, self.c)

    def __call__(self, xin=None) -> None:
        np.tanh(self.pre, out=self.pre)
        np.multiply(self.sig, 0.5, out=self.sig)  # sigmoid(x) = (1 + tanh(x/2)) / 2
        np.add(self.sig, 0.5, out=self.sig)
        np.multiply(self.c, self.f, out=self.c)
        np.multiply(self.i, self.g, out=self.tmp)
        np.add(self.c, self.tmp, out=self.c)
        np.tanh(self.c, out=self.h)
        np.multiply(self.h, self.o, out=self.h)


class GRUKernel:
    """pre (..., 3H) = (r/2, z/2, hn), xin (..., H) = in -> n = tanh(in + r*hn), h = n + z*(h - n)."""

    def __init__(self, pre: np.ndarray, h: np.ndarray):
        H = h.shape[-1]
        self.h = h
        self.rz = pre[..., : 2 * H]
        self.r, self.z, self.hn = (pre[..., j * H:(j + 1) * H] for j in range(3))
        self.tmp = np.zeros(h.shape, np.float32)
        self.state = (h,)

    def __call__(self, xin: np.ndarray) -> None:
        np.tanh(self.rz, out=self.rz)
        np.multiply(self.rz, 0.5, out=self.rz)
        np.add(self.rz, 0.5, out=self.rz)
        np.multiply(self.hn, self.r, out=self.hn)
        np.add(self.hn, xin, out=self.hn)
        np.tanh(self.hn, out=self.hn)             # n
        np.subtract(self.h, self.hn, out=self.tmp)
        np.multiply(self.tmp, self.z, out=self.tmp)
        np.add(self.hn, self.tmp, out=self.h)     # (1 - z) * n + z * h


class RNNKernel:
    """pre (..., H) -> h = tanh(pre) or relu(pre)."""

    def __init__(self, pre: np.ndarray, h: np.ndarray, relu: bool):
        self.pre, self.h, self.relu = pre, h, relu
        self.state = (h,)

    def __call__(self, xin=None) -> None:
        if self.relu:
            np.maximum(self.pre, 0, out=self.h)
        else:
            np.tanh(self.pre, out=self.h)


def kernel(cell: str, pre: np.ndarray, h: np.ndarray):
    """The kernel of `cell` over pre-activation and hidden-state views."""
    if cell == "lstm":
        return LSTMKernel(pre, h)
    if cell == "gru":
        return GRUKernel(pre, h)
    return RNNKernel(pre, h, relu=cell == "rnn_relu")
