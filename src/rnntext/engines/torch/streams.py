"""Stepping the torch model for generation: the batched path (`sample --engine torch`).

`TorchStreams` has the same face as rnntext.generation.runtime.Streams (B, V, primed, logits, prime,
step, generate), so the one generate loop and the one random-number design (rules.py) serve
both engines: the logits come back to the host as float32 NumPy and the shared `Sampler`
draws from them, so the same seed gives the same text.

Why a step is cheap:
- the weights are NumPy's packed matrices (generation/packing.py): layer 0's input projection
  of every token is a table (V, W_0) looked up with one index_select, each higher layer is one
  matrix product against the contiguous state [h_{k-1}, h_k] (B, H_{k-1} + H_k), and LSTM
  gates sit as (i, f, o, g). Packing halves the sigmoid rows for NumPy's tanh trick; here the
  rows the cell names (`torch_doubled`) are scaled by 2, which is exact: the halved ones back
  to plain, and LSTM's g too, since torch's CPU tanh is some ten times slower than its sigmoid
  and tanh(x) = 2 sigmoid(2x) - 1 lets one sigmoid cover all four gates.
- every buffer is preallocated and every op writes in place or into `out=`; no autograd.
- `precision="bfloat16"` (or "float16") runs only the recurrent matrix products in that type,
  from a low-precision mirror of the state: on CPUs with AMX or AVX512-BF16 those run about 6x
  faster than float32 (oneDNN). The state, the gate nonlinearities, the biases and the small
  output layer stay in float32, so errors do not compound through the cell state.
- the prime runs as one sequence pass through the fused torch.lstm/gru/rnn kernels (cuDNN on
  CUDA), in float32, on one stream when the streams share a state, broadcast afterwards.
On CUDA the same code runs on the GPU; the logits come back through a pinned host buffer.
A step is some twenty small torch calls, so one stream on a CPU is faster in the NumPy
runtime (generation/runtime.py); this path pays off from a few dozen streams, or on a GPU.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from rnntext.engines.torch.engine import fast_low_precision_cpu, pick_device
from rnntext.engines.torch.module import RNNLM
from rnntext.errors import ConfigError
from rnntext.generation.packing import pack
from rnntext.generation.rules import Rule
from rnntext.generation.runtime import generate

log = logging.getLogger(__name__)
PRECISIONS = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class TorchStreams:
    """The recurrent state of B streams on a torch device; call `prime` first."""

    def __init__(self, model_cfg, vocab_size: int, weights: dict[str, np.ndarray], batch: int,
                 device: str = "auto", precision: str = "float32"):
        if batch < 1:
            raise ValueError(f"batch must be 1 or more, not {batch}")
        if precision not in PRECISIONS:
            raise ConfigError(f"precision: must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.device, self.low = pick_device(device), PRECISIONS[precision]
        self.mixed = self.low != torch.float32
        if self.mixed and self.device.type == "cpu" and not fast_low_precision_cpu(self.low):
            log.warning("%s matrix products have no hardware support on this CPU: float32 is likely faster",
                        precision)
        self.B, self.V, self.primed, self._shared = batch, vocab_size, False, True
        p = pack(model_cfg, vocab_size, weights)
        self.cell, self.hidden = p.cell, p.hidden
        self._weights(p)
        # The prime's fused kernels use PyTorch's own parameters (float32 on the device).
        self.model = RNNLM.trained(model_cfg, vocab_size, weights).to(self.device)
        self._buffers()

    def _weights(self, p) -> None:
        """Device tensors from the packed matrices: per layer W^T (D_k + H_k, rec/W_k) and biases."""
        n = self.cell.torch_doubled * np.array(self.hidden)  # rows to scale by 2, per layer
        dev = lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float32)).to(self.device)  # noqa: E731
        low = (lambda t: t.to(self.low)) if self.mixed else (lambda t: t)  # noqa: E731
        table, rec0 = p.table.copy(), p.rec0.copy()
        table[:, :n[0]] *= 2
        rec0[:n[0]] *= 2
        self.table = dev(table)                               # (V, W_0) float32, biases folded
        self.rec = rec0.shape[0]                              # layer 0's recurrent rows (0: no W_h)
        self.recs = [p.rec(k) for k in range(len(self.hidden))]
        self.w = [low(dev(rec0.T))]                           # layer 0: (H_0, rec_0)
        self.b = [None]
        for k, m in enumerate(p.stacked, start=1):            # m: (W_k, D + 1 + H_k) [W_x | b | W_h], or [W_x | b]
            m = m.copy()
            m[:n[k]] *= 2
            D = self.hidden[k - 1]
            self.w.append(low(dev(np.delete(m, D, axis=1).T)))  # (D + H_k, W_k), or (D, W_k)
            self.b.append(dev(m[:, D]))                        # (W_k,) float32
        self.w_out, self.b_out = dev(p.out[:, :-1].T), dev(p.out[:, -1])  # (H_last, V), (V,)

    def _buffers(self) -> None:
        B, hidden, f32 = self.B, self.hidden, torch.float32
        zeros = lambda *shape, dtype=f32: torch.zeros(*shape, dtype=dtype, device=self.device)  # noqa: E731
        # State [h_0, h_1, ...] (B, sum H_k): layer k reads [h_{k-1}, h_k] as one contiguous slice
        # (layer 0 reads h_0; without recurrent weights, layer k reads h_{k-1} only: w's rows say).
        starts = np.cumsum([0, *hidden]).tolist()
        self.slices = [slice(a, b) for a, b in zip(starts, starts[1:])]
        self.inputs = [slice(starts[max(k - 1, 0)], starts[max(k - 1, 0)] + w.shape[0]) for k, w in enumerate(self.w)]
        self.hs = zeros(B, starts[-1])
        self.hs_low = zeros(B, starts[-1], dtype=self.low) if self.mixed else self.hs
        self.h = [self.hs[:, s] for s in self.slices]
        # Pre-activations: layer 0's are its table rows (B, W_0) plus the recurrent product, in
        # place. Layers run in turn, so all of them share one scratch buffer (a smaller working
        # set stays in cache), as do the low-precision products.
        widths = [self.table.shape[1]] + [w.shape[1] for w in self.w[1:]]
        scratch, low = zeros(B * max(widths)), zeros(B * max(widths), dtype=self.low)
        self.gathered = scratch[:B * widths[0]].view(B, widths[0])
        self.pre = [self.gathered[:, :self.rec]] + [scratch[:B * W].view(B, W) for W in widths[1:]]
        self.prod = [low[:B * w.shape[1]].view(B, w.shape[1]) for w in self.w] if self.mixed else None
        # The cell's step kernels (their own state parts beyond h, such as LSTM's c, are theirs);
        # xin: the packed rows past the recurrent ones (GRU's `in`), from the table for layer 0.
        self.kernels = [self.cell.torch_step(pre, h) for pre, h in zip(self.pre, self.h)]
        self.xin = [self.gathered[:, self.rec:]] + [pre[:, rec:] for pre, rec in zip(self.pre[1:], self.recs[1:])]
        self.ids = torch.zeros(B, dtype=torch.int64, device=self.device)
        logits = zeros(B, self.V)                                # (B, V) after the last token fed
        if self.device.type == "cpu":
            self._logits, self._host = logits, None
            self.logits = logits.numpy()                          # shares memory: no copy per step
        else:
            self._logits, self._host = logits, torch.zeros(B, self.V, pin_memory=self.device.type == "cuda")
            self.logits = self._host.numpy()

    def reset(self) -> None:
        """Back to the zero state."""
        for t in self._state():
            t.zero_()
        self.hs_low.zero_()
        self.primed, self._shared = False, True

    def _state(self) -> list[torch.Tensor]:
        return [self.hs] + [t for kern in self.kernels for t in kern.state[1:]]

    # The thread count a generation loop steps on (rnntext.generation.threads): torch's, on a CPU.
    def thread_counts(self) -> list[int]:
        n = torch.get_num_threads()
        return [n, 1] if self.device.type == "cpu" and n > 1 else []

    def use_threads(self, n: int) -> None:
        torch.set_num_threads(n)

    def snapshot(self) -> list[np.ndarray]:
        """Copies of the state and the logits, as NumPy arrays (`restore` puts them back)."""
        return [t.numpy().copy() for t in self._state()] + [self.logits.copy()]

    def restore(self, saved: list[np.ndarray]) -> None:
        for mine, its in zip(self._state() + [self._logits], saved):
            mine.copy_(torch.from_numpy(its))
        if self.mixed:
            self.hs_low.copy_(self.hs)   # the low-precision mirror of the state, as a step leaves it

    @torch.inference_mode()
    def step(self, ids) -> np.ndarray:
        """Feed one token per stream, ids (B,) ints; returns the next-token logits (B, V) float32."""
        self.ids.copy_(torch.from_numpy(np.asarray(ids, np.int64).reshape(self.B)))
        torch.index_select(self.table, 0, self.ids, out=self.gathered)
        for k, (w, b, pre) in enumerate(zip(self.w, self.b, self.pre)):
            x = self.hs_low[:, self.inputs[k]]
            if k == 0 and not self.rec:
                pass                                    # no recurrent product: the table rows are all
            elif self.mixed:  # low-precision product, float32 sum and state
                prod = torch.mm(x, w, out=self.prod[k])
                if k == 0:
                    pre.add_(prod)                      # onto the table rows
                else:
                    torch.add(prod, b, out=pre)
            elif k == 0:
                pre.addmm_(x, w)
            else:
                torch.addmm(b, x, w, out=pre)
            self.kernels[k](self.xin[k])
            if self.mixed:
                self.hs_low[:, self.slices[k]].copy_(self.h[k])
        self._output()
        self.primed, self._shared = True, False
        return self.logits

    def _output(self) -> None:
        torch.addmm(self.b_out, self.h[-1], self.w_out, out=self._logits)  # float32: V is small
        if self._host is not None:
            self._host.copy_(self._logits)

    @torch.inference_mode()
    def prime(self, ids: Sequence[int]) -> np.ndarray:
        """Feed the same tokens (T,) to every stream from its current state; returns logits (B, V).

        One sequence pass through the fused kernels, in float32: on one stream when the
        streams share a state (fresh or just primed), on all B otherwise.
        """
        ids = np.asarray(ids, np.int64).reshape(-1)
        if len(ids) == 0:
            raise ValueError("prime with at least one token (the CLI starts from a newline)")
        if ids.min() < 0 or ids.max() >= self.V:
            raise ValueError(f"token ids must be in [0, {self.V})")
        rows = 1 if self._shared else self.B
        x = torch.from_numpy(ids).to(self.device).expand(rows, -1)
        h = self.model.embed(x)                                        # (rows, T, D)
        for k, kern in enumerate(self.kernels):
            parts = (t[:rows].unsqueeze(0).contiguous() for t in kern.state)  # each (1, rows, H)
            h, state = self.model.rnn.run_layer(k, h, self.cell.layer_state(parts))
            for mine, new in zip(kern.state, self.cell.parts(state)):
                mine.copy_(new[0].expand(self.B, -1))                    # broadcast (rows, H) to (B, H)
        if self.mixed:
            self.hs_low.copy_(self.hs)
        self._output()
        self.primed, self._shared = True, True
        return self.logits

    def generate(self, length: int, rule: Rule, seed: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Yield `length` steps of tokens, each (B,) int64: see rnntext.generation.runtime.generate."""
        return generate(self, length, rule, seed, stop)
