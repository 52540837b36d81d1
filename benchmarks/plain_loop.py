"""The plain PyTorch loop a user would write: the reference the benchmarks measure rnntext against.

nn.Embedding -> nn.LSTM -> nn.Linear with PyTorch's own initialisation, B contiguous streams
with the state carried between windows (reset at each epoch), Adam or AdamW, clipping by norm,
float32, a constant rate. Dropout, when given, is pytorch/examples' (on the embedding, between
the layers and before the output).
"""

from __future__ import annotations

import time

import numpy as np
import torch


def train_plain(ids: np.ndarray, V: int, *, E: int, H: int, B: int, T: int, lr: float, dropout: float = 0.0,
                optimizer: str = "adamw", clip: float = 5.0, seed: int = 1234, iters: int = 0,
                seconds: float = 0.0) -> tuple[tuple, int, list[float]]:
    """Train on token ids (N,) for `iters` iterations or `seconds`; the modules, iterations, losses."""
    torch.manual_seed(seed)
    emb, rnn, out = torch.nn.Embedding(V, E), torch.nn.LSTM(E, H, 2, dropout=dropout, batch_first=True), \
        torch.nn.Linear(H, V)
    drop = torch.nn.Dropout(dropout)
    params = [*emb.parameters(), *rnn.parameters(), *out.parameters()]
    kind = torch.optim.AdamW if optimizer == "adamw" else torch.optim.Adam
    opt = kind(params, lr=lr, weight_decay=0.0)
    tokens = torch.from_numpy(np.asarray(ids, np.int64))
    L = (len(tokens) - 1) // B  # B contiguous streams, y the inputs shifted by one
    xs, ys = tokens[:B * L].view(B, L), tokens[1:B * L + 1].view(B, L)
    state, it, batches, losses, start = None, 0, L // T, [], time.time()
    while (iters and it < iters) or (seconds and time.time() - start < seconds):
        b = it % batches
        if b == 0:
            state = None
        h, state = rnn(drop(emb(xs[:, b * T:(b + 1) * T])), state)
        loss = torch.nn.functional.cross_entropy(out(drop(h)).flatten(0, 1), ys[:, b * T:(b + 1) * T].flatten())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        state = tuple(s.detach() for s in state)
        losses.append(loss.item())
        it += 1
    return (emb, rnn, out), it, losses


@torch.no_grad()
def score_plain(modules, ids: np.ndarray) -> tuple[float, float]:
    """Loss (nats per token) and accuracy over one stream of `ids` with carried state, as
    rnntext's Model.evaluate reads a text."""
    emb, rnn, out = modules
    rnn.eval()
    t = torch.from_numpy(np.asarray(ids, np.int64))
    logits = out(rnn(emb(t[:-1][None]))[0])[0]
    return torch.nn.functional.cross_entropy(logits, t[1:]).item(), (logits.argmax(-1) == t[1:]).float().mean().item()
