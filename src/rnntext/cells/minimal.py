"""minGRU and minLSTM: Feng et al. (2024), "Were RNNs All We Needed?" (arXiv 2410.01201).

Both drop the hidden state from the gates and the candidate, so h_t = a_t * h_(t-1) + b_t with
a_t, b_t functions of x_t alone (scan.py). The equations are the paper's sequential mode:

    minGRU   (G = 2; weight_ih rows z, h~)      z = sigmoid(k_z),  h~ = W_h x + b_h
             h_t = (1 - z) * h_(t-1) + z * h~
    minLSTM  (G = 3; weight_ih rows f, i, h~)   f = sigmoid(k_f),  i = sigmoid(k_i),  h~ = W_h x + b_h
             f' = f / (f + i),  i' = i / (f + i),  h_t = f' * h_(t-1) + i' * h~

with k = W x + b. The paper's log-space mode also passes h~ through g(x) = x + 0.5 for x >= 0,
else sigmoid(x), because a log-space scan needs positive values; the scan here needs no
logarithm (parallel_scan.py), so h~ stays linear and may be negative, as in the sequential
mode. minLSTM's normalised gates are computed as f' = sigmoid(log f - log i), i' = 1 - f', with
log f = -softplus(-k_f): the same numbers, and never 0 / 0 when both gates underflow.

Packed for sampling: minGRU (z/2, h~), W = 2H (one tanh gives the sigmoid); minLSTM (-k_f, -k_i,
h~), W = 3H, so that one log(1 + exp(.)) gives -log f and -log i.
"""

from __future__ import annotations

import numpy as np

from rnntext.cells.base import sigmoid
from rnntext.cells.scan import ScanCell


class MinGRU(ScanCell):
    name = "mingru"
    description = "minGRU (Feng et al. 2024): h' = (1 - z) * h + z * h~, z and h~ from the input only"
    gates, packed_blocks, halved_blocks = 2, 2, 1
    js_step = """{ step(gx, gh, s, H) {  // h = (1 - z) * h + z * h~ (gh: none, no recurrent weights)
      const h = s.h;
      for (let j = 0; j < H; j++) { const z = 1 / (1 + Math.exp(-gx[j])); h[j] += z * (gx[H + j] - h[j]); } } }"""

    exposes = {"h": "hidden state h = (1 - z) * h + z * h~", "z": "update gate", "cand": "candidate h~ = W_h x + b_h"}
    fractions = ("z",)

    def numpy_internals(self, out, cache):
        z, _, cand = cache[2]  # the coefficients' cache
        return {"h": out, "z": z, "cand": cand}

    def inside_step(self, xw, parts, w_hh, b_hh):
        import torch

        k, cand = xw.chunk(2, dim=-1)
        z = torch.sigmoid(k)
        h = (1.0 - z) * parts[0] + z * cand
        return {"h": h, "z": z, "cand": cand}, (h,)

    def coefficients(self, xw):
        k, cand = self.blocks(xw)
        z = sigmoid(k)
        keep = 1.0 - z
        return keep, z * cand, (z, keep, cand)

    def coefficients_backward(self, da, db, cache):
        z, keep, cand = cache
        return np.concatenate([(db * cand - da) * z * keep, db * z], axis=-1)

    def torch_coefficients(self, xw):
        import torch

        k, cand = xw.chunk(2, dim=-1)  # its backward is one concatenation
        z = torch.sigmoid(k)
        return 1.0 - z, z * cand

    def packing(self, H):
        return np.arange(2 * H), np.repeat([0.5, 1.0], H)

    def numpy_step(self, pre, h):
        return _GRUStep(h, np, lambda x: np.zeros(x.shape, np.float32))

    def torch_step(self, pre, h):
        import torch

        return _GRUStep(h, torch, lambda x: x.new_zeros(x.shape), halved=False)


class _GRUStep:
    """xin (..., 2H) = (z/2, h~) (z when not halved) -> h = h + z * (h~ - h), in place."""

    def __init__(self, h, lib, zeros, halved: bool = True):
        self.h, self.lib, self.halved = h, lib, halved
        self.z, self.tmp = zeros(h), zeros(h)
        self.state = (h,)

    def __call__(self, xin) -> None:
        lib, H, z = self.lib, self.h.shape[-1], self.z
        if self.halved:  # sigmoid(x) = (1 + tanh(x / 2)) / 2
            lib.tanh(xin[..., :H], out=z)
            lib.multiply(z, 0.5, out=z)
            lib.add(z, 0.5, out=z)
        else:
            lib.sigmoid(xin[..., :H], out=z)
        lib.subtract(xin[..., H:], self.h, out=self.tmp)
        lib.multiply(self.tmp, z, out=self.tmp)
        lib.add(self.h, self.tmp, out=self.h)


class MinLSTM(ScanCell):
    name = "minlstm"
    description = "minLSTM (Feng et al. 2024): h' = f' * h + i' * h~, gates f, i normalised to sum 1, from the input only"
    gates, packed_blocks, halved_blocks = 3, 3, 0
    js_step = """{ step(gx, gh, s, H) {  // f' = sigmoid(log f - log i), h = f' * h + (1 - f') * h~
      const h = s.h, softplus = (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
      for (let j = 0; j < H; j++) {
        const f = 1 / (1 + Math.exp(softplus(-gx[j]) - softplus(-gx[H + j])));
        h[j] = gx[2 * H + j] + f * (h[j] - gx[2 * H + j]);
      } } }"""

    exposes = {"h": "hidden state h = f' * h + i' * h~", "f": "forget share f' = f / (f + i)",
               "i": "input share i' = i / (f + i)", "cand": "candidate h~ = W_h x + b_h"}
    fractions = ("f", "i")

    def numpy_internals(self, out, cache):
        f_, i_, cand, _, _ = cache[2]  # the coefficients' cache
        return {"h": out, "f": f_, "i": i_, "cand": cand}

    def inside_step(self, xw, parts, w_hh, b_hh):
        import torch
        import torch.nn.functional as F

        kf, ki, cand = xw.chunk(3, dim=-1)
        d = F.logsigmoid(kf) - F.logsigmoid(ki)  # log f - log i
        f_, i_ = torch.sigmoid(d), torch.sigmoid(-d)
        h = f_ * parts[0] + i_ * cand
        return {"h": h, "f": f_, "i": i_, "cand": cand}, (h,)

    def coefficients(self, xw):
        kf, ki, cand = self.blocks(xw)
        d = np.logaddexp(0, -ki) - np.logaddexp(0, -kf)  # log f - log i
        f_, i_ = sigmoid(d), sigmoid(-d)  # f' and i'
        return f_, i_ * cand, (f_, i_, cand, sigmoid(-kf), sigmoid(-ki))

    def coefficients_backward(self, da, db, cache):
        f_, i_, cand, not_f, not_i = cache  # not_f = 1 - f = d(log f)/dk_f
        dd = (da - db * cand) * f_ * i_
        return np.concatenate([dd * not_f, -dd * not_i, db * i_], axis=-1)

    def torch_coefficients(self, xw):
        import torch
        import torch.nn.functional as F

        kf, ki, cand = xw.chunk(3, dim=-1)
        d = F.logsigmoid(kf) - F.logsigmoid(ki)
        return torch.sigmoid(d), torch.sigmoid(-d) * cand

    def packing(self, H):
        return np.arange(3 * H), np.repeat([-1.0, -1.0, 1.0], H)

    def numpy_step(self, pre, h):
        return _LSTMStep(h, np, lambda *s: np.zeros(s, np.float32), np.float32(0))

    def torch_step(self, pre, h):
        import torch

        return _LSTMStep(h, torch, lambda *s: h.new_zeros(s), h.new_zeros(()))


class _LSTMStep:
    """xin (..., 3H) = (-k_f, -k_i, h~) -> f' = sigmoid(softplus(-k_i) - softplus(-k_f)),
    h = h~ + f' * (h - h~), in place."""

    def __init__(self, h, lib, zeros, zero):
        self.h, self.lib, self.zero = h, lib, zero
        self.soft = zeros(*h.shape[:-1], 2 * h.shape[-1])  # (-log f, -log i)
        self.f, self.tmp = zeros(*h.shape), zeros(*h.shape)
        self.state = (h,)

    def __call__(self, xin) -> None:
        lib, H, f = self.lib, self.h.shape[-1], self.f
        lib.logaddexp(xin[..., :2 * H], self.zero, out=self.soft)
        lib.subtract(self.soft[..., H:], self.soft[..., :H], out=f)  # log f - log i
        if lib is np:  # sigmoid(x) = (1 + tanh(x / 2)) / 2
            np.multiply(f, 0.5, out=f)
            np.tanh(f, out=f)
            np.multiply(f, 0.5, out=f)
            np.add(f, 0.5, out=f)
        else:
            lib.sigmoid(f, out=f)
        cand = xin[..., 2 * H:]
        lib.subtract(self.h, cand, out=self.tmp)
        lib.multiply(self.tmp, f, out=self.tmp)
        lib.add(cand, self.tmp, out=self.h)


CELLS = (MinGRU(), MinLSTM())
