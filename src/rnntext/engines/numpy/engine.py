"""The NumPy engine behind `rnntext train --engine numpy`: the trainer's engine interface.

Same methods as rnntext.engines.torch.engine.TorchEngine (train_step, evaluate, reset_state,
weights, checkpoint, restore), so the trainer loop and the run directory are the same for
both engines. Dropout draws from its own PCG64 generator, whose state is checkpointed.
"""

from __future__ import annotations

import json

import numpy as np

from rnntext.engines.numpy.optim import optimizer_from_config
from rnntext.engines.numpy.runtime import evaluate_batches, train_step
from rnntext.engines.state import state_from_tensors, state_tensors
from rnntext.model.parameters import init_params


def check_options(model_cfg, train_cfg) -> None:
    """Refuse, with one line, what the NumPy engine cannot do (before anything is written)."""
    from rnntext.errors import ConfigError

    if train_cfg.device == "cuda":
        raise ConfigError("device: the numpy engine runs on the CPU only: use --engine torch for cuda")
    if train_cfg.precision not in ("auto", "float32"):
        raise ConfigError("precision: the numpy engine computes in float32: drop --precision or use --engine torch")
    unsupported = [k for k in ("locked_dropout", "input_dropout", "embed_dropout")
                   if getattr(model_cfg, k)] + [k for k in ("ar", "tar") if getattr(train_cfg, k)]
    if unsupported:
        raise ConfigError(f"{unsupported[0]}: the numpy engine has dropout and weight drop only: use "
                          f"--engine torch for the other AWD-LSTM options")


class NumpyEngine:
    name = "numpy"

    def __init__(self, model_cfg, train_cfg, vocab_size: int):
        check_options(model_cfg, train_cfg)
        model_cfg = model_cfg.without_auto()
        self.model_cfg, self.cfg = model_cfg, train_cfg
        self.rng = np.random.Generator(np.random.PCG64(train_cfg.seed))
        self.params = init_params(model_cfg, vocab_size, self.rng, np.float32)
        self.optimizer = optimizer_from_config(train_cfg)
        self.state = None

    def reset_state(self) -> None:
        self.state = None

    def train_step(self, x: np.ndarray, y: np.ndarray, lr: float, mask: np.ndarray | None = None,
                   cond: np.ndarray | None = None) -> float:
        loss, _, self.state = train_step(self.params, self.model_cfg, self.optimizer, x, y, self.state, lr, mask=mask,
                                         cond=cond,
                                         clip_norm=self.cfg.clip_norm, clip_value=self.cfg.clip_value,
                                         rng=self.rng if self.model_cfg.dropout or self.model_cfg.weight_drop else None)
        return float(loss)

    def evaluate(self, batches, max_batches: int) -> tuple[float, int, int]:
        return evaluate_batches(self.params, self.model_cfg, batches, max_batches)

    def weights(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.params.items()}

    def load_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Start from these weights (PyTorch's names; fine-tuning), the optimizer still fresh."""
        if set(weights) != set(self.params):
            raise KeyError(f"weights {sorted(set(weights) ^ set(self.params))[:3]} do not fit this model")
        self.params = {k: np.array(weights[k], np.float32) for k in self.params}

    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict]:
        tensors = {f"model.{k}": v for k, v in self.params.items()}
        tensors |= {f"optim.{k}": np.asarray(v) for k, v in self.optimizer.state_dict().items()}
        tensors |= state_tensors(self.state, lambda t: t)
        return tensors, {"rng": json.dumps(self.rng.bit_generator.state)}

    def restore(self, tensors: dict[str, np.ndarray], meta: dict) -> None:
        self.params = {k[6:]: v.copy() for k, v in tensors.items() if k.startswith("model.")}
        self.optimizer.load_state_dict({k[6:]: v.copy() for k, v in tensors.items() if k.startswith("optim.")})
        self.state = state_from_tensors(tensors, lambda a: a.copy())
        self.rng.bit_generator.state = json.loads(meta["rng"])
