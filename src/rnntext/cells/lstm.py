"""The LSTM: Hochreiter & Schmidhuber (1997) with the forget gate of Gers et al. (2000).

PyTorch's nn.LSTM equations and gate order i, f, g, o (G = 4):
    i, f, o = sigmoid(.), g = tanh(.), of W_ih x + b_ih + W_hh h + b_hh
    c' = f * c + i * g,   h' = o * tanh(c')
State (h, c). Packed for sampling as (i/2, f/2, o/2, g), W = 4H: one tanh covers every gate
and the three sigmoid gates are contiguous.
"""

from __future__ import annotations

import numpy as np

from rnntext.cells.base import Cell, sigmoid, torch_tanh


class _NumpyStep:
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


class _TorchStep:
    """pre (B, 4H) = (i, f, o, 2g) -> c = f*c + i*g, h = o*tanh(c), in place.

    PyTorch's CPU tanh is about ten times slower than its sigmoid, so tanh(x) = 2 sigmoid(2x) - 1:
    g's rows come doubled (torch_doubled), one sigmoid covers all four blocks, and
    c = f*c + 2*i*s - i (within 2e-7 of the tanh form), h = o * torch_tanh(c)."""

    def __init__(self, pre, h):
        H = h.shape[-1]
        self.pre, self.h = pre, h
        self.i, self.f, self.o, self.s = (pre[:, j * H:(j + 1) * H] for j in range(4))
        self.c = h.new_zeros(h.shape)
        self.state = (h, self.c)

    def __call__(self, xin=None) -> None:
        i = self.i
        self.pre.sigmoid_()
        self.c.mul_(self.f).addcmul_(i, self.s, value=2).sub_(i)  # i * (2 sigmoid(2g) - 1): g's tanh folded in
        torch_tanh(self.c, out=self.h).mul_(self.o)


class LSTM(Cell):
    name, torch_kernel = "lstm", "lstm"
    description = "LSTM (Hochreiter & Schmidhuber 1997; forget gate Gers et al. 2000), nn.LSTM's gates i, f, g, o"
    js_step = """{ step(gx, gh, s, H) {  // c = f * c + i * g, h = o * tanh(c)
      const h = s.h, c = s.c, sig = (x) => 1 / (1 + Math.exp(-x));
      for (let j = 0; j < H; j++) {
        const i = sig(gx[j] + gh[j]), f = sig(gx[H + j] + gh[H + j]);
        const g = Math.tanh(gx[2 * H + j] + gh[2 * H + j]), o = sig(gx[3 * H + j] + gh[3 * H + j]);
        c[j] = f * c[j] + i * g;
        h[j] = o * Math.tanh(c[j]);
      } } }"""
    gates, packed_blocks, halved_blocks = 4, 4, 3
    torch_doubled = 4  # (i/2, f/2, o/2, g) -> (i, f, o, 2g): see _TorchStep
    state_parts = ("h", "c")
    NumpyStep, TorchStep = _NumpyStep, _TorchStep

    exposes = {"h": "hidden state h = o * tanh(c)", "c": "cell state c = f * c + i * g", "i": "input gate",
               "f": "forget gate", "g": "candidate g = tanh(.)", "o": "output gate"}
    fractions = ("i", "f", "o")

    def numpy_internals(self, out, cache):
        hs, cs, gates, _ = cache  # gates (T, B, 4H) hold the activations i, f, g, o
        H = out.shape[-1]
        return {"h": out, "c": cs[1:], **{name: gates[..., j * H:(j + 1) * H] for j, name in enumerate("ifgo")}}

    def inside_step(self, xw, parts, w_hh, b_hh):
        import torch

        h, c = parts
        i, f, g, o = (xw + torch.nn.functional.linear(h, w_hh, b_hh)).chunk(4, dim=-1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        return {"h": h, "c": c, "i": i, "f": f, "g": g, "o": o}, (h, c)

    def init_layer(self, params, k, hidden, model_cfg):
        """Forget-gate biases sum to model_cfg.forget_bias, all of it in bias_ih
        (Gers et al. 2000; Jozefowicz et al. 2015)."""
        params[f"rnn.bias_ih_l{k}"][hidden : 2 * hidden] = model_cfg.forget_bias
        params[f"rnn.bias_hh_l{k}"][hidden : 2 * hidden] = 0.0

    def forward(self, xw, w_hh, b_hh, state):
        T, B, G = xw.shape
        H = G // 4
        h0, c0 = state
        hs = np.empty((T + 1, B, H), dtype=xw.dtype)
        cs = np.empty((T + 1, B, H), dtype=xw.dtype)
        hs[0], cs[0] = h0, c0
        gates = xw + b_hh  # (T, B, 4H), becomes the gate activations i, f, g, o
        tanh_c = np.empty((T, B, H), dtype=xw.dtype)
        for t in range(T):
            a = gates[t]
            a += hs[t] @ w_hh.T
            a[:, : 2 * H] = sigmoid(a[:, : 2 * H])  # i, f
            a[:, 2 * H : 3 * H] = np.tanh(a[:, 2 * H : 3 * H])  # g
            a[:, 3 * H :] = sigmoid(a[:, 3 * H :])  # o
            cs[t + 1] = a[:, H : 2 * H] * cs[t] + a[:, :H] * a[:, 2 * H : 3 * H]
            tanh_c[t] = np.tanh(cs[t + 1])
            hs[t + 1] = a[:, 3 * H :] * tanh_c[t]
        return hs[1:], (hs[T].copy(), cs[T].copy()), (hs, cs, gates, tanh_c)

    def backward(self, dout, w_hh, cache):
        hs, cs, gates, tanh_c = cache
        T, B, H = dout.shape
        da = np.empty_like(gates)  # (T, B, 4H): gradient of the gate pre-activations
        dh_next = np.zeros((B, H), dtype=dout.dtype)
        dc_next = np.zeros((B, H), dtype=dout.dtype)
        for t in reversed(range(T)):
            i, f, g, o = (gates[t, :, k * H : (k + 1) * H] for k in range(4))
            dh = dout[t] + dh_next
            tc = tanh_c[t]
            dc = dc_next + dh * o * (1.0 - tc * tc)
            da[t, :, :H] = dc * g * i * (1.0 - i)
            da[t, :, H : 2 * H] = dc * cs[t] * f * (1.0 - f)
            da[t, :, 2 * H : 3 * H] = dc * i * (1.0 - g * g)
            da[t, :, 3 * H :] = dh * tc * o * (1.0 - o)
            dc_next = dc * f
            dh_next = da[t] @ w_hh
        dw_hh = da.reshape(T * B, 4 * H).T @ hs[:-1].reshape(T * B, H)
        db = da.sum(axis=(0, 1))
        return da, dw_hh, db

    def pack_rows(self, H, w_ih, w_hh, b_ih, b_hh):
        i, f, g, o = (slice(j * H, (j + 1) * H) for j in range(4))
        order, scale = [i, f, o, g], np.repeat([0.5, 0.5, 0.5, 1.0], H)[:, None]
        w_x, w_h, b = (np.concatenate([a[s] for s in order]) for a in (w_ih, w_hh, b_ih + b_hh))
        return w_x * scale, b * scale[:, 0], w_h * scale


CELLS = (LSTM(),)
