"""Why there is no LayerNorm-LSTM option: its training speed against the fused LSTM.

Layer normalisation inside the cell (Ba et al. 2016) rules out the fused recurrent kernels
(torch.lstm / oneDNN / cuDNN), so the cell runs as a per-step loop. Case: 2 layers of 512,
embedding 64, V=65, B=64, T=50, AdamW, bf16 autocast where the CPU has it. Prints one JSON line.

    .venv/bin/python benchmarks/layernorm_lstm.py
"""

from __future__ import annotations

import json
import time

import torch

from rnntext import hardware

V, E, H, B, T = 65, 64, 512, 64, 50


class LayerNormLSTM(torch.nn.Module):
    """One LSTM layer with layer normalisation of both gate inputs and of the cell."""

    def __init__(self, d: int, h: int):
        super().__init__()
        self.ih, self.hh = torch.nn.Linear(d, 4 * h, bias=False), torch.nn.Linear(h, 4 * h, bias=False)
        self.ln_i, self.ln_h, self.ln_c = torch.nn.LayerNorm(4 * h), torch.nn.LayerNorm(4 * h), torch.nn.LayerNorm(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.new_zeros(x.shape[0], H)
        c = x.new_zeros(x.shape[0], H)
        xi, out = self.ln_i(self.ih(x)), []
        for t in range(x.shape[1]):
            i, f, g, o = (xi[:, t] + self.ln_h(self.hh(h))).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(self.ln_c(c))
            out.append(h)
        return torch.stack(out, 1)


def tokens_per_s(rnn: torch.nn.Module, low: bool, steps: int = 4) -> float:
    torch.manual_seed(0)
    emb, out = torch.nn.Embedding(V, E), torch.nn.Linear(H, V)
    params = [*emb.parameters(), *rnn.parameters(), *out.parameters()]
    opt = torch.optim.AdamW(params, 2e-3)
    x, y = torch.randint(0, V, (B, T)), torch.randint(0, V, (B, T))
    for i in range(steps + 2):
        if i == 2:
            start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=low):
            h = rnn(emb(x))
            h = h[0] if isinstance(h, tuple) else h
            loss = torch.nn.functional.cross_entropy(out(h).float().flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps * B * T / (time.perf_counter() - start)


def main() -> None:
    from rnntext.engines.torch.engine import fast_low_precision_cpu

    low = fast_low_precision_cpu(torch.bfloat16)
    fused = tokens_per_s(torch.nn.LSTM(E, H, 2, batch_first=True), low)
    normed = tokens_per_s(torch.nn.Sequential(LayerNormLSTM(E, H), LayerNormLSTM(H, H)), low)
    print(json.dumps({"benchmark": "layernorm_lstm", "machine": hardware.describe(), "case": "2x512, embed 64, V=65, B=64, T=50",
                      "bf16": low, "fused_tokens_per_s": round(fused), "layernorm_tokens_per_s": round(normed),
                      "slowdown": round(fused / normed, 2)}))


if __name__ == "__main__":
    main()
