"""The GRU: Cho et al. (2014), in PyTorch's nn.GRU form and gate order r, z, n (G = 3):
    r, z = sigmoid(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z})
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),   h' = (1 - z) * n + z * h
State h. Packed for sampling as (r/2, z/2, hn, in), W = 4H, where hn = W_hn h + b_hn has no
input part and in = W_in x + b_in no recurrent part: the recurrent rows are the first 3H.
"""

from __future__ import annotations

import numpy as np

from rnntext.cells.base import Cell, sigmoid, torch_tanh


class _NumpyStep:
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


class _TorchStep:
    """pre (B, 3H) = (r, z, hn), xin (B, H) = in -> n = tanh(in + r*hn), h = n + z*(h - n), in place."""

    def __init__(self, pre, h):
        H = h.shape[-1]
        self.h = h
        self.rz = pre[:, : 2 * H]
        self.r, self.z, self.hn = (pre[:, j * H:(j + 1) * H] for j in range(3))
        self.state = (h,)

    def __call__(self, xin) -> None:
        self.rz.sigmoid_()
        n = torch_tanh(self.hn.mul_(self.r).add_(xin))
        self.h.sub_(n).mul_(self.z).add_(n)  # (1 - z) * n + z * h



class GRU(Cell):
    name, torch_kernel = "gru", "gru"
    description = "GRU (Cho et al. 2014), nn.GRU's gates r, z, n with r applied to W_hn h + b_hn"
    js_step = """{ step(gx, gh, s, H) {  // n = tanh(in + r * hn), h = (1 - z) * n + z * h
      const h = s.h, sig = (x) => 1 / (1 + Math.exp(-x));
      for (let j = 0; j < H; j++) {
        const r = sig(gx[j] + gh[j]), z = sig(gx[H + j] + gh[H + j]);
        const n = Math.tanh(gx[2 * H + j] + r * gh[2 * H + j]);
        h[j] = (1 - z) * n + z * h[j];
      } } }"""
    gates, packed_blocks, halved_blocks = 3, 4, 2
    NumpyStep, TorchStep = _NumpyStep, _TorchStep

    exposes = {"h": "hidden state h = (1 - z) * n + z * h", "r": "reset gate", "z": "update gate",
               "n": "candidate n = tanh(.)"}
    fractions = ("r", "z")

    def numpy_internals(self, out, cache):
        _, acts, _ = cache  # (T, B, 3H): r, z, n after their nonlinearities
        H = out.shape[-1]
        return {"h": out, **{name: acts[..., j * H:(j + 1) * H] for j, name in enumerate("rzn")}}

    def inside_step(self, xw, parts, w_hh, b_hh):
        import torch

        (h,) = parts
        x_r, x_z, x_n = xw.chunk(3, dim=-1)
        h_r, h_z, h_n = torch.nn.functional.linear(h, w_hh, b_hh).chunk(3, dim=-1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        h = n + z * (h - n)  # (1 - z) * n + z * h
        return {"h": h, "r": r, "z": z, "n": n}, (h,)

    def forward(self, xw, w_hh, b_hh, h):
        T, B, G = xw.shape
        H = G // 3
        hs = np.empty((T + 1, B, H), dtype=xw.dtype)
        hs[0] = h
        acts = np.empty((T, B, G), dtype=xw.dtype)  # r, z, n after their nonlinearities
        hn = np.empty((T, B, H), dtype=xw.dtype)  # W_hn h + b_hn, which r multiplies
        for t in range(T):
            gh = hs[t] @ w_hh.T + b_hh  # (B, 3H)
            acts[t, :, : 2 * H] = sigmoid(xw[t, :, : 2 * H] + gh[:, : 2 * H])
            hn[t] = gh[:, 2 * H :]
            n = np.tanh(xw[t, :, 2 * H :] + acts[t, :, :H] * hn[t])
            acts[t, :, 2 * H :] = n
            z = acts[t, :, H : 2 * H]
            hs[t + 1] = n + z * (hs[t] - n)  # (1 - z) * n + z * h
        return hs[1:], hs[T].copy(), (hs, acts, hn)

    def backward(self, dout, w_hh, cache):
        hs, acts, hn = cache
        T, B, H = dout.shape
        dxw = np.empty_like(acts)  # (T, B, 3H): gradient of W_ih x + b_ih
        dgh = np.empty_like(acts)  # (T, B, 3H): gradient of W_hh h + b_hh
        dh_next = np.zeros((B, H), dtype=dout.dtype)
        for t in reversed(range(T)):
            r, z, n = (acts[t, :, k * H : (k + 1) * H] for k in range(3))
            dh = dout[t] + dh_next
            dn = dh * (1.0 - z) * (1.0 - n * n)
            dxw[t, :, 2 * H :] = dn
            dxw[t, :, H : 2 * H] = dh * (hs[t] - n) * z * (1.0 - z)
            dxw[t, :, :H] = dn * hn[t] * r * (1.0 - r)
            dgh[t, :, : 2 * H] = dxw[t, :, : 2 * H]
            dgh[t, :, 2 * H :] = dn * r
            dh_next = dh * z + dgh[t] @ w_hh
        dw_hh = dgh.reshape(T * B, 3 * H).T @ hs[:-1].reshape(T * B, H)
        db = dgh.sum(axis=(0, 1))
        return dxw, dw_hh, db

    def pack_rows(self, H, w_ih, w_hh, b_ih, b_hh):
        r, z, n = (slice(j * H, (j + 1) * H) for j in range(3))
        zero_x, zero_h = np.zeros((H, w_ih.shape[1])), np.zeros((H, H))
        w_x = np.concatenate([w_ih[r] / 2, w_ih[z] / 2, zero_x, w_ih[n]])
        w_h = np.concatenate([w_hh[r] / 2, w_hh[z] / 2, w_hh[n], zero_h])
        b = np.concatenate([(b_ih[r] + b_hh[r]) / 2, (b_ih[z] + b_hh[z]) / 2, b_hh[n], b_ih[n]])
        return w_x, b, w_h


CELLS = (GRU(),)
