"""One recurrent layer over a whole sequence: forward and hand-written backward.

The equations are exactly PyTorch's (nn.RNN, nn.LSTM, nn.GRU) with its gate orders:
LSTM i, f, g, o; GRU r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).

Arrays are time-major inside the engine, so that the recurrence reads contiguous (B, ...)
slices. The input projection `xw = x @ W_ih.T + b_ih`, (T, B, G*H), is computed by the
caller for all time steps in one matmul (or one gather, for one-hot input); these functions
only loop over time for the part that must be sequential. Backward returns the gradient
with respect to `xw`, from which the caller gets dW_ih, db_ih and dx.

Layer state is `h` (B, H) for rnn_* and gru, and `(h, c)` for lstm.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    # The tanh form never overflows (1 / (1 + exp(-x)) warns for x < -88 in float32).
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def layer_forward(cell: str, xw: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray, state):
    """Run one layer over xw (T, B, G*H). Returns (out (T, B, H), final state, cache)."""
    return _FORWARD[cell](xw, w_hh, b_hh, state, cell)


def layer_backward(cell: str, dout: np.ndarray, w_hh: np.ndarray, cache):
    """Given dL/dout (T, B, H), return (dxw (T, B, G*H), dW_hh, db_hh)."""
    return _BACKWARD[cell](dout, w_hh, cache, cell)


def _rnn_forward(xw, w_hh, b_hh, h, cell):
    T, B, H = xw.shape
    hs = np.empty((T + 1, B, H), dtype=xw.dtype)  # hs[0] is the initial state
    hs[0] = h
    pre = xw + b_hh  # both biases folded once, not once per step
    for t in range(T):
        a = pre[t] + hs[t] @ w_hh.T  # (B, H)
        hs[t + 1] = np.tanh(a) if cell == "rnn_tanh" else np.maximum(a, 0)
    return hs[1:], hs[T].copy(), hs


def _rnn_backward(dout, w_hh, hs, cell):
    T, B, H = dout.shape
    da = np.empty_like(dout)  # (T, B, H): gradient of the pre-activation
    dh_next = np.zeros((B, H), dtype=dout.dtype)
    for t in reversed(range(T)):
        dh = dout[t] + dh_next
        h = hs[t + 1]
        da[t] = dh * (1.0 - h * h) if cell == "rnn_tanh" else dh * (h > 0)
        dh_next = da[t] @ w_hh
    dw_hh = da.reshape(T * B, H).T @ hs[:-1].reshape(T * B, H)
    db = da.sum(axis=(0, 1))
    return da, dw_hh, db


def _lstm_forward(xw, w_hh, b_hh, state, cell):
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


def _lstm_backward(dout, w_hh, cache, cell):
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


def _gru_forward(xw, w_hh, b_hh, h, cell):
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


def _gru_backward(dout, w_hh, cache, cell):
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


_FORWARD = {"rnn_tanh": _rnn_forward, "rnn_relu": _rnn_forward, "lstm": _lstm_forward, "gru": _gru_forward}
_BACKWARD = {"rnn_tanh": _rnn_backward, "rnn_relu": _rnn_backward, "lstm": _lstm_backward, "gru": _gru_backward}
