"""Cells whose recurrence is a linear scan: h_t = a_t * h_(t-1) + b_t, element-wise.

a_t and b_t depend on the input alone, (a_t, b_t) = coefficients(W_ih x_t + b_ih), so the
cell has no recurrent weights (no weight_hh, bias_hh; `recurrent = False`): a window's input
projections are one matrix product over B x T rows, and what is left is the scan. The NumPy
engine runs it as a loop over time with a hand-written backward pass; the torch engine runs
it in parallel over the window (rnntext.cells.parallel_scan), starting from the state carried
in from the previous window. minGRU and minLSTM (minimal.py) are of this kind.

A subclass gives `coefficients` and `coefficients_backward` (NumPy) and `torch_coefficients`
(torch, differentiated by autograd), plus the packed layout and step kernels for sampling.
"""

from __future__ import annotations

import numpy as np

from rnntext.cells.base import Cell


class ScanCell(Cell):
    """h_t = a_t * h_(t-1) + b_t with (a_t, b_t) from the input projection xw_t alone."""

    recurrent = False

    def blocks(self, xw):
        """xw (..., G*H) as its G gate blocks (..., H), views."""
        H = xw.shape[-1] // self.gates
        return [xw[..., j * H:(j + 1) * H] for j in range(self.gates)]

    def coefficients(self, xw: np.ndarray):
        """(a, b, cache) from xw (..., G*H), each of a, b (..., H)."""
        raise NotImplementedError

    def coefficients_backward(self, da: np.ndarray, db: np.ndarray, cache) -> np.ndarray:
        """dL/dxw (..., G*H) given dL/da and dL/db."""
        raise NotImplementedError

    def torch_coefficients(self, xw):
        """(a, b) as torch tensors from xw (..., G*H); autograd differentiates them."""
        raise NotImplementedError

    # --- NumPy training -------------------------------------------------------------------
    def forward(self, xw, w_hh, b_hh, h):
        a, b, cache = self.coefficients(xw)  # (T, B, H) each
        T = len(xw)
        hs = np.empty((T + 1, *h.shape), dtype=xw.dtype)  # hs[0] is the initial state
        hs[0] = h
        for t in range(T):
            hs[t + 1] = a[t] * hs[t] + b[t]
        return hs[1:], hs[T].copy(), (hs, a, cache)

    def backward(self, dout, w_hh, cache):
        hs, a, cache = cache
        db = np.empty_like(dout)  # dL/db_t = G_t = dout_t + a_(t+1) * G_(t+1)
        carry = np.zeros(dout.shape[1:], dtype=dout.dtype)
        for t in reversed(range(len(dout))):
            db[t] = dout[t] + carry
            carry = a[t] * db[t]
        return self.coefficients_backward(db * hs[:-1], db, cache), None, None

    # --- torch training -------------------------------------------------------------------
    def torch_layer(self, x, state, params: list, training: bool):
        """The input projection as one matrix product, then the scan in parallel over time."""
        import torch

        from rnntext.cells.parallel_scan import linear_scan

        xw = torch.nn.functional.linear(x.transpose(0, 1), *params)  # (T, B, G*H)
        work = torch.promote_types(xw.dtype, torch.float32)  # the scan in float32 under autocast
        a, b = self.torch_coefficients(xw.to(work))
        out = linear_scan(a, b, state[0].to(work))  # (T, B, H)
        return out.transpose(0, 1), out[-1:].clone()

    # --- sampling ---------------------------------------------------------------------------
    def pack_rows(self, H, w_ih, b_ih):
        """Every packed row is the cell's input (there is no recurrent product): W_h is None."""
        order, scale = self.packing(H)
        return w_ih[order] * scale[:, None], b_ih[order] * scale, None

    def packing(self, H: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows of weight_ih in packed order, a scale per packed row)."""
        raise NotImplementedError
