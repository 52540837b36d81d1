"""The recurrent language model as an nn.Module.

Parameter names are PyTorch's own (`rnn.weight_ih_l0`, ...; gate orders LSTM i,f,g,o and GRU
r,z,n) so the NumPy engine loads the same `model.safetensors`. Layers may differ in size (the
TensorFlow lab stacked LSTMs of 1024 and 512), so each layer is its own call of the fused
kernel behind nn.LSTM/nn.GRU/nn.RNN (`torch.lstm`, ...; the cell names it, rnntext.cells),
which uses cuDNN on CUDA; a cell without recurrent weights (minGRU, minLSTM) runs its input
projection as one matrix product and its recurrence as a scan in parallel over the window.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from rnntext import cells
from rnntext.model.parameters import init_params


class RecurrentStack(nn.Module):
    """Stacked single-direction recurrent layers with PyTorch's parameter names."""

    def __init__(self, cell: str, input_size: int, hidden_sizes: tuple[int, ...]):
        super().__init__()
        self.cell, self.hidden_sizes = cells.get(cell), tuple(hidden_sizes)
        for k, H in enumerate(self.hidden_sizes):
            D = input_size if k == 0 else self.hidden_sizes[k - 1]
            for name, shape in self.cell.parameter_shapes(D, H).items():
                self.register_parameter(f"{name}_l{k}", nn.Parameter(torch.empty(shape)))

    def layer_params(self, k: int) -> list[torch.Tensor]:
        return [getattr(self, f"{n}_l{k}") for n in self.cell.parameters]

    weight_drop = 0.0

    def run_layer(self, k: int, x: torch.Tensor, state):
        """x: (B, T, D) -> output (B, T, H_k), new state ((1, B, H), or a tuple of the cell's parts)."""
        params = self.layer_params(k)
        if self.training and self.weight_drop and self.cell.recurrent:  # DropConnect: one mask of W_hh per batch
            # (Merity et al. 2017); a cell without recurrent weights has nothing to drop
            params[1] = params[1] * dropout_mask(params[1], self.weight_drop)
        return self.cell.torch_layer(x, state, params, self.training)

    def zero_state(self, batch_size: int, device, dtype):
        parts = self.cell.state_parts
        return [self.cell.layer_state(torch.zeros(1, batch_size, H, device=device, dtype=dtype) for _ in parts)
                for H in self.hidden_sizes]


class RNNLM(nn.Module):
    """Embedding (or one-hot) -> recurrent layers with dropout -> dropout -> linear -> logits."""

    def __init__(self, model_cfg, vocab_size: int):
        super().__init__()
        model_cfg = model_cfg.without_auto()
        self.cfg, self.vocab_size = model_cfg, vocab_size
        E = model_cfg.embed_size
        self.embedding = nn.Embedding(vocab_size, E) if E > 0 else None
        self.labels = len(model_cfg.labels)
        self.rnn = RecurrentStack(model_cfg.cell, (E or vocab_size) + self.labels, model_cfg.hidden_sizes)
        self.rnn.weight_drop = model_cfg.weight_drop
        self.last_output = None  # (raw, dropped) last-layer outputs while training, for AR/TAR
        self.output = nn.Linear(model_cfg.hidden_sizes[-1], vocab_size)
        if model_cfg.tie_weights:
            self.output.weight = self.embedding.weight  # Press & Wolf 2017; Inan et al. 2017
        initialise(self, model_cfg)

    def embed(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, T) ids -> (B, T, E), or one-hot (B, T, V) when embed_size is 0; with labels,
        the one-hot label cond (B, T) joins every step (the Caffe LSTM's static input)."""
        dtype = self.output.weight.dtype
        if self.embedding is None:
            h = nn.functional.one_hot(x, self.vocab_size).to(dtype)
        elif self.training and self.cfg.embed_dropout:  # drop whole tokens (AWD-LSTM's dropoute)
            w = self.embedding.weight
            h = nn.functional.embedding(x, w * dropout_mask(w, self.cfg.embed_dropout, (w.shape[0], 1)))
        else:
            h = self.embedding(x)
        h = self.drop(h, self.cfg.input_dropout)
        if self.labels:
            if cond is None:
                raise ValueError("this model was trained with labels: pass cond (B, T)")
            h = torch.cat([h, nn.functional.one_hot(cond, self.labels).to(h.dtype)], dim=-1)
        return h

    def forward(self, x: torch.Tensor, state=None, cond: torch.Tensor | None = None):
        """x: (B, T) ids (and label ids cond (B, T)) -> logits (B, T, V) and the state after the last step."""
        h = self.embed(x, cond)
        if state is None:
            state = self.rnn.zero_state(x.shape[0], x.device, h.dtype)
        new_state = []
        for k in range(len(self.rnn.hidden_sizes)):
            raw, s = self.rnn.run_layer(k, h, state[k])
            h = self.drop(raw, self.cfg.dropout)
            new_state.append(s)
        self.last_output = (raw, h) if self.training else None
        return self.output(h), new_state

    def drop(self, h: torch.Tensor, p: float) -> torch.Tensor:
        """Dropout on h (B, T, D): one mask per sequence when locked (Gal & Ghahramani 2016)."""
        if not self.training or not p:
            return h
        if self.cfg.locked_dropout:
            return h * dropout_mask(h, p, (h.shape[0], 1, h.shape[2]))
        if h.device.type != "cpu":
            return nn.functional.dropout(h, p, True)  # one fused kernel on GPUs
        return h * dropout_mask(h, p)

    def weights(self) -> dict[str, torch.Tensor]:
        """The state dict as saved: a tied output weight is stored once, as embedding.weight."""
        sd = {k: v.detach() for k, v in self.state_dict().items()}
        if self.cfg.tie_weights:
            sd.pop("output.weight")
        return sd

    @classmethod
    def trained(cls, model_cfg, vocab_size: int, weights: dict) -> RNNLM:
        """A model holding trained weights, in eval mode (dropout off) without gradients."""
        model = cls(model_cfg, vocab_size).eval().requires_grad_(False)
        model.load_weights(weights)
        return model

    def load_weights(self, weights: dict) -> None:
        """Copy in weights by name: tensors, or arrays (as float32)."""
        weights = {k: v if isinstance(v, torch.Tensor) else torch.from_numpy(np.array(v, np.float32))
                   for k, v in weights.items()}
        expected = set(self.weights())
        if set(weights) != expected:
            missing, extra = sorted(expected - set(weights)), sorted(set(weights) - expected)
            raise KeyError(f"missing {missing[:3]}, unexpected {extra[:3]}")
        self.load_state_dict(weights, strict=False)


def dropout_mask(like: torch.Tensor, p: float, shape=None) -> torch.Tensor:
    """A keep-mask scaled by 1/keep, of `shape` (like's by default), in like's dtype and device.

    On the CPU torch's bernoulli draws one number per element and costs ~15x a multiply (a
    fifth of a 2x512 LSTM's training step); here each 64-bit draw gives 8 random bytes, kept
    when at least round(256 p), so p is rounded to a multiple of 1/256 (0.25 stays 0.25;
    0.1 becomes 26/256). The draws come from torch's generator: seeds and resume still hold.
    """
    shape = tuple(like.shape if shape is None else shape)
    if like.device.type != "cpu":
        return torch.empty(shape, device=like.device, dtype=like.dtype).bernoulli_(1 - p) / (1 - p)
    n, drop = math.prod(shape), min(255, round(256 * p))
    words = torch.randint(-(1 << 63), (1 << 63) - 1, ((n + 7) // 8,), dtype=torch.int64)
    keep = words.view(torch.uint8)[:n].view(shape) >= drop
    return keep.to(like.dtype) * (256 / (256 - drop))


def detach_state(state):
    """Cut the graph at a batch boundary (truncated BPTT) but keep the values, in float32 (under
    autocast the kernels hand back bf16 states; the carried state and its checkpoint stay float32)."""
    return [tuple(t.detach().float() for t in s) if isinstance(s, tuple) else s.detach().float() for s in state]


@torch.no_grad()
def initialise(model: RNNLM, cfg) -> None:
    """Initialise per `cfg.init` with the rules of rnntext.model.parameters (their one home), drawn
    from a seed that torch's generator gives, so torch.manual_seed still decides the weights."""

    seed = int(torch.randint(0, (1 << 63) - 1, ()))
    params = init_params(cfg, model.vocab_size, np.random.default_rng(seed), np.float32)
    model.load_weights({k: torch.from_numpy(v) for k, v in params.items()})
