"""The linear recurrence h_t = a_t * h_(t-1) + b_t over a window, in parallel over time (torch).

Element-wise over (T, ...) tensors, time first. A blocked scan: the window is cut into blocks
of CHUNK steps, and
  1. every block at once: its end state from a zero start (CHUNK element-wise calls, each on
     all T / CHUNK blocks) and the product of its coefficients (one call);
  2. the blocks' end states are themselves such a recurrence, of T / CHUNK steps, where step n
     has the block's product as coefficient and its end state as input: this function again,
     from h_0, which gives the state entering each block;
  3. every block at once again: its steps from the state entering it (CHUNK calls).
Each call works on a whole window's worth of blocks, so the number of calls grows with log T
(a recursion level per factor CHUNK), not with T. It needs no
division and no logarithm, unlike the cumulative-product form h_t = A_t * (h_0 + sum
b_s / A_s) or its log-space version (Heinsen 2023), so any sign of b works and there is
nothing to overflow: every term is a product of coefficients and one b, and a product that
underflows is one whose true value is below float32's smallest number. Within a block the
arithmetic is the sequential loop's, across blocks one product of CHUNK coefficients more;
tests/test_scan.py holds it to a sequential loop at T = 800.

`linear_scan` differentiates with a hand-written backward pass, the same scan run backwards:
dL/db_t = G_t with G_t = g_t + a_(t+1) * G_(t+1), dL/da_t = G_t * h_(t-1), dL/dh_0 = a_1 * G_1.
It keeps a, h and h_0 for it instead of every level's intermediates.
"""

from __future__ import annotations

import torch

CHUNK = 8  # steps per block


def scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, reverse: bool = False) -> torch.Tensor:
    """h (T, ...) with h_t = a_t * h_(t-1) + b_t from h_0 = h0 (None: zero); reverse runs from
    the end, h_t = a_t * h_(t+1) + b_t. a and b are not changed; no autograd graph is kept."""
    T = a.shape[0]
    if T == 1:  # one step, as the ONNX export traces it: plain operations, no writes into views
        return b.clone() if h0 is None else torch.addcmul(b, a, h0)
    if T <= CHUNK:
        return _steps(a, b, h0, reverse)
    pad = -T % CHUNK  # zeros at the end: they reach no real step in either direction
    if pad:
        a, b = (torch.cat([t, t.new_zeros(pad, *t.shape[1:])]) for t in (a, b))
    n = (T + pad) // CHUNK
    a, b = a.view(n, CHUNK, *a.shape[1:]), b.view(n, CHUNK, *b.shape[1:])
    positions = range(CHUNK - 1, -1, -1) if reverse else range(CHUNK)
    end = b[:, positions[0]].clone()  # each block's end state from a zero start, all blocks at once
    for c in positions[1:]:
        torch.addcmul(b[:, c], a[:, c], end, out=end)
    ends = scan(torch.prod(a, dim=1), end, h0, reverse)  # (n, ...): the state after each block
    incoming = torch.zeros_like(ends) if h0 is None else h0.expand_as(ends).clone()
    if reverse:
        incoming[:-1] = ends[1:]
    else:
        incoming[1:] = ends[:-1]
    out = _steps(a.transpose(0, 1), b.transpose(0, 1), incoming, reverse)  # the blocks again, from there
    return out.transpose(0, 1).reshape(T + pad, *out.shape[2:])[:T]


def _steps(a, b, h0, reverse: bool):
    """The recurrence one step (of dim 0) after another: for a few steps, or for the positions of
    a block with every block at once."""
    out = torch.empty_like(b)
    h = h0
    for t in (range(len(a) - 1, -1, -1) if reverse else range(len(a))):
        if h is None:
            out[t] = b[t]
        else:
            torch.addcmul(b[t], a[t], h, out=out[t])
        h = out[t]
    return out


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
        da = None
        if ctx.needs_input_grad[0]:  # G_t * h_(t-1)
            da = torch.empty_like(G)
            torch.mul(G[1:], h[:-1], out=da[1:])
            torch.mul(G[0], h0, out=da[0])
        dh0 = a[0] * G[0] if ctx.needs_input_grad[2] else None
        return da, G, dh0


def linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """h (T, B, H) with h_t = a_t * h_(t-1) + b_t, for a, b (T, B, H) and h0 (B, H); differentiable
    in all three. Without a gradient to take (inference, tracing for export) it is plain `scan`."""
    if torch.is_grad_enabled() and (a.requires_grad or b.requires_grad or h0.requires_grad):
        return _LinearScan.apply(a, b, h0)
    return scan(a, b, h0)
