"""Stepping the torch model for generation: the batched path for GPUs (`sample --engine torch`).

`TorchStreams` has the same face as rnntext.generation.Streams (B, V, primed, logits, prime,
step), so the one generate loop and the one random-number design serve both engines: the
same seed gives the same text.
"""

from __future__ import annotations

import numpy as np
import torch

from rnntext.engines.torch.engine import pick_device
from rnntext.engines.torch.model import RNNLM


class TorchStreams:
    def __init__(self, model_cfg, vocab_size: int, weights: dict[str, np.ndarray], batch: int, device: str = "auto"):
        self.device = pick_device(device)
        self.model = RNNLM(model_cfg, vocab_size).to(self.device).eval()
        self.model.load_weights({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in weights.items()})
        self.B, self.V, self.state, self.primed = batch, vocab_size, None, False
        self.logits = np.zeros((batch, vocab_size), np.float32)

    @torch.no_grad()
    def prime(self, ids) -> np.ndarray:
        """Feed the same tokens (T,) to every stream as one sequence pass; logits (B, V)."""
        x = torch.as_tensor(np.asarray(ids, np.int64), device=self.device).reshape(1, -1).expand(self.B, -1)
        out, self.state = self.model(x.contiguous(), self.state)
        self.logits = out[:, -1].float().cpu().numpy()
        self.primed = True
        return self.logits

    @torch.no_grad()
    def step(self, ids) -> np.ndarray:
        x = torch.as_tensor(np.asarray(ids, np.int64), device=self.device).reshape(-1, 1)
        out, self.state = self.model(x, self.state)
        self.logits = out[:, -1].float().cpu().numpy()
        return self.logits
