"""The trainer is a plain training loop: given the same initial weights, the same data order and
the same options, its per-iteration losses equal those of an nn.LSTM loop written here.

A difference in data order, state carry, epoch resets, loss normalisation, clipping or the
optimizer (AdamW's decoupled weight decay) would show in the first iterations."""

import json

import numpy as np
import torch

import rnntext
from rnntext.config import ModelConfig
from rnntext.data.dataset import open_dataset
from rnntext.engines.torch.module import RNNLM

E, H, B, T, ITERS, SEED, LR = 8, 16, 4, 10, 20, 7, 1e-2
OPTIONS = dict(cell="lstm", num_layers=2, hidden_size=(H,), embed_size=E, dropout=0.0, weight_drop=0.0,
               batch_size=B, seq_len=T, optimizer="adamw", lr=LR, weight_decay=0.1, clip_norm=0.5,
               lr_schedule="constant", precision="float32", seed=SEED, val_frac=0.1)


def plain_losses(tokens: np.ndarray, V: int, initial: dict) -> list[float]:
    emb, rnn, out = torch.nn.Embedding(V, E), torch.nn.LSTM(E, H, 2, batch_first=True), torch.nn.Linear(H, V)
    emb.weight.data.copy_(initial["embedding.weight"])
    rnn.load_state_dict({k[4:]: v for k, v in initial.items() if k.startswith("rnn.")})
    out.load_state_dict({"weight": initial["output.weight"], "bias": initial["output.bias"]})
    params = [*emb.parameters(), *rnn.parameters(), *out.parameters()]
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=0.1)
    ids = torch.from_numpy(tokens.astype(np.int64))
    L = (len(ids) - 1) // B  # B contiguous streams, y the inputs shifted by one
    xs, ys = ids[:B * L].view(B, L), ids[1:B * L + 1].view(B, L)
    batches, state, losses = L // T, None, []
    for it in range(ITERS):
        b = it % batches
        if b == 0:
            state = None  # every epoch starts from a zero state
        h, state = rnn(emb(xs[:, b * T:(b + 1) * T]), state)
        loss = torch.nn.functional.cross_entropy(out(h).flatten(0, 1), ys[:, b * T:(b + 1) * T].flatten())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()
        state = tuple(s.detach() for s in state)  # carried, cut from the graph
        losses.append(loss.item())
    return losses


def test_the_trainer_equals_a_plain_loop(tmp_path):
    text = tmp_path / "t.txt"
    rng = np.random.default_rng(0)
    words = ["the ", "cat ", "sat ", "on ", "a ", "mat ", "and ", "dog ", "ran.\n"]
    text.write_text("".join(rng.choice(words, 80)))
    run = tmp_path / "run"
    rnntext.train(str(text), run, max_iters=ITERS, log_every=1, eval_every=0, checkpoint_every=0, sample_every=0,
                  quiet=True, **OPTIONS)
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    trainer = [r["train_loss"] for r in records if "train_loss" in r]
    with open_dataset(run / "data.h5") as ds:
        tokens, V = np.asarray(ds.split("train")[:]), len(ds.vocab)
    assert (len(tokens) - 1) // B // T < ITERS / 2  # the run crosses epoch boundaries (state resets)
    torch.manual_seed(SEED)  # the engine seeds torch, then builds the model: the same initial weights
    initial = RNNLM(ModelConfig(**{k: OPTIONS[k] for k in ("cell", "num_layers", "hidden_size", "embed_size")}),
                    V).weights()
    plain = plain_losses(tokens, V, initial)
    assert len(trainer) == ITERS
    np.testing.assert_allclose(trainer, plain, rtol=0, atol=1e-5)
    assert plain[-1] < plain[0] - 0.3  # and both learned: the comparison is not of two flat lines
