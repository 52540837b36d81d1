"""The linear recurrence h_t = a_t * h_(t-1) + b_t over a window, in parallel over time (torch).

Element-wise over (T, ...) tensors, time first. Hillis & Steele (1986) doubling: element t
holds a pair (A, B) meaning h_t = A * h_s + B for some earlier s; the level of distance d
composes pair t with pair t - d,

    (A_t, B_t) <- (A_t * A_(t-d),  A_t * B_(t-d) + B_t),

so after ceil(log2 T) levels every pair reaches back to h_0: h_t = A_t * h_0 + B_t. Each
level is a few whole-tensor element-wise calls, with no loop over time steps. It needs no
division and no logarithm, unlike the cumulative-product form h_t = A_t * (h_0 + sum
b_s / A_s) or its log-space version (Heinsen 2023), so any sign of b works and there is
nothing to overflow: every term is a product of coefficients and one b, and a product that
underflows is one whose true value is below float32's smallest number. Its rounding is a few
operations per level; tests/test_scan.py holds it to a sequential loop at T = 800.

`linear_scan` differentiates with a hand-written backward pass, the same scan run backwards:
dL/db_t = G_t with G_t = g_t + a_(t+1) * G_(t+1), dL/da_t = G_t * h_(t-1), dL/dh_0 = a_1 * G_1.
It keeps a, h and h_0 for it instead of every level's intermediates.
"""

from __future__ import annotations

import torch


def scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, reverse: bool = False) -> torch.Tensor:
    """h (T, ...) with h_t = a_t * h_(t-1) + b_t from h_0 = h0 (None: zero); reverse runs from
    the end, h_t = a_t * h_(t+1) + b_t. a and b are not changed; no autograd graph is kept."""
    T = a.shape[0]
    cur_a, cur_b, spare, d = a, b, [], 1
    while d < T:
        if not spare:  # two buffer pairs, used in turn: a level reads one and writes the other
            spare = [(torch.empty_like(a), torch.empty_like(b)) for _ in range(2)]
        nxt_a, nxt_b = spare[0]
        if reverse:
            new, old, keep = slice(0, T - d), slice(d, T), slice(T - d, T)
        else:
            new, old, keep = slice(d, T), slice(0, T - d), slice(0, d)
        nxt_b[keep] = cur_b[keep]  # pairs that already reach the start
        torch.addcmul(cur_b[new], cur_a[new], cur_b[old], out=nxt_b[new])
        if h0 is not None or 2 * d < T:  # the last level needs A only to apply h_0
            nxt_a[keep] = cur_a[keep]
            torch.mul(cur_a[new], cur_a[old], out=nxt_a[new])
        cur_a, cur_b = nxt_a, nxt_b
        spare.reverse()
        d *= 2
    if h0 is not None:
        return torch.addcmul(cur_b, cur_a, h0)  # h0 (...) broadcasts over T
    return cur_b.clone() if cur_b is b else cur_b


class _LinearScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, h0):
        h = scan(a, b, h0)
        ctx.save_for_backward(a, h, h0)
        return h

    @staticmethod
    def backward(ctx, g):
        a, h, h0 = ctx.saved_tensors
        after = torch.zeros_like(a)  # a_(t+1), the coefficient that carries G back from t + 1
        after[:-1] = a[1:]
        G = scan(after, g.contiguous(), None, reverse=True)
        da = G * torch.cat([h0[None], h[:-1]]) if ctx.needs_input_grad[0] else None
        dh0 = a[0] * G[0] if ctx.needs_input_grad[2] else None
        return da, G, dh0


def linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """h (T, B, H) with h_t = a_t * h_(t-1) + b_t, for a, b (T, B, H) and h0 (B, H); differentiable
    in all three. Without a gradient to take (inference, tracing for export) it is plain `scan`."""
    if torch.is_grad_enabled() and (a.requires_grad or b.requires_grad or h0.requires_grad):
        return _LinearScan.apply(a, b, h0)
    return scan(a, b, h0)
