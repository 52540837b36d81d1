"""The PyTorch training engine: one object that owns the model, optimizer and carried state.

The trainer loop (rnntext.training.trainer) is engine-neutral and talks to this class and to
the NumPy engine through the same small set of methods: train_step, evaluate, reset_state,
weights, checkpoint/restore. Mixed precision (`precision`, see autocast_dtype) keeps float32
master weights and optimizer state; float16 on CUDA adds a loss scaler. CUDA batches move
through pinned memory.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from rnntext.engines.state import state_from_tensors, state_tensors
from rnntext.engines.torch.module import RNNLM, detach_state
from rnntext.faces import ask


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    from rnntext.errors import ConfigError

    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and torch.cuda.is_available():
        return torch.device(f"cuda:{local_rank}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device: cuda was asked for but no CUDA device is available: use {ask('device', 'cpu')} or "
                          f"{ask('device', 'auto')}")
    return torch.device(name)


def fast_low_precision_cpu(dtype: torch.dtype) -> bool:
    """Whether this CPU multiplies in `dtype` natively (rnntext.hardware: AMX or AVX512-BF16 with
    oneDNN's agreement, overridable with RNNTEXT_CPU_FEATURES). float16 counts only with AVX512-FP16
    or AMX-FP16 and oneDNN's agreement."""
    from rnntext import hardware

    if dtype == torch.bfloat16:
        return hardware.native_bf16()
    if not {"avx512_fp16", "amx_fp16"} & hardware.cpu_features():
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_fp16_supported())
    except (AttributeError, RuntimeError):
        return False


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast type for `precision` on `device`, or None for plain float32.

    auto: bfloat16 on CUDA when supported (else float16), and on CPUs with native bf16 units
    (AMX, AVX512-BF16): there the LSTM step runs about 1.6-2x as fast. Elsewhere auto stays in
    float32. An explicit bfloat16 on a CPU without native bf16 is refused: oneDNN has no bf16
    LSTM kernel there (it fails outright), and emulation would be slower than float32.
    """
    from rnntext import hardware
    from rnntext.errors import ConfigError

    cuda = device.type == "cuda"
    if precision == "float32":
        return None
    if precision == "auto":
        if cuda:
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if fast_low_precision_cpu(torch.bfloat16) else None
    if precision == "float16" and not cuda:
        raise ConfigError(f"precision: float16 training needs CUDA: use {ask('precision', 'bfloat16')} or "
                          f"{ask('precision', 'float32')} on the CPU")
    if not cuda and not fast_low_precision_cpu(torch.bfloat16):
        feats = ",".join(f for f in ("avx2", "avx512f") if f in hardware.cpu_features()) or "no AVX2"
        raise ConfigError(f"precision: bfloat16 training needs a CPU with native bf16 (AMX or AVX512-BF16) or CUDA, "
                          f"and this CPU ({hardware.cpu_model()}; {feats}) has neither: use "
                          f"{ask('precision', 'auto')} or {ask('precision', 'float32')}")
    return torch.bfloat16 if precision == "bfloat16" else torch.float16


def make_optimizer(params, cfg) -> torch.optim.Optimizer:
    """torch.optim by name, with the options TrainConfig names. Adam, AdamW and SGD run fused (one
    kernel over every parameter; on the CPU torch otherwise loops over them op by op), the same
    update within float32 rounding."""
    wd = cfg.weight_decay
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=wd,
                               fused=True)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, weight_decay=wd,
                                fused=True)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, weight_decay=wd,
                                 fused=True)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps, momentum=cfg.momentum,
                                   weight_decay=wd)
    return torch.optim.Adagrad(params, lr=cfg.lr, eps=cfg.eps, weight_decay=wd)


def masked_loss(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean cross-entropy over the positions the mask keeps (all without one): logits (B, T, V)."""
    if mask is None:
        return F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
    nll = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="none")
    return (nll * mask.flatten()).sum() / mask.sum().clamp_min(1)


@torch.no_grad()
def score_batches(model: RNNLM, batches, tensor, amp_dtype: torch.dtype | None,
                  max_batches: int | None = None) -> tuple[float, int, int]:
    """Sums over the first `max_batches` batches of a layout (rnntext.data.batches; all of them
    with None): (nll in nats, correct next-token guesses, tokens), the state carried where the
    layout says so. `tensor` moves a NumPy array to the model's device; `amp_dtype` autocasts."""
    device = next(model.parameters()).device
    state, total, correct, count = None, 0.0, 0, 0
    for i in range(len(batches) if max_batches is None else min(len(batches), max_batches)):
        x, y, mask, cond = batches.batch(i)
        x, y = tensor(x), tensor(y)
        if not batches.carries_state:
            state = None
        with torch.autocast(device.type, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
            logits, state = model(x, state, None if cond is None else tensor(cond))
        logits = logits.float().flatten(0, 1)
        weight = torch.ones(y.numel(), device=device) if mask is None else tensor(mask).flatten()
        total += float((F.cross_entropy(logits, y.flatten(), reduction="none") * weight).sum())
        correct += int(((logits.argmax(-1) == y.flatten()) * weight).sum())
        count += int(weight.sum())
    return total, correct, count


def score_weights(model_cfg, vocab_size: int, weights: dict[str, np.ndarray], batches, device: str = "auto",
                  precision: str = "auto") -> tuple[float, int, int, str]:
    """score_batches for a trained model's weights, in eval mode on `device`, autocast as the
    trainer's `precision` rule says (autocast_dtype): every batch of the layout. Returns its
    sums and the precision used ("float32", "bfloat16" or "float16")."""
    where = pick_device(device)
    model = RNNLM.trained(model_cfg, vocab_size, weights).to(where)

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(where)

    amp = autocast_dtype(precision, where)
    return *score_batches(model, batches, tensor, amp), str(amp or torch.float32).removeprefix("torch.")


class TorchEngine:
    """Model + optimizer + carried hidden state for truncated BPTT."""

    name = "torch"

    def __init__(self, model_cfg, train_cfg, vocab_size: int, world=None):
        self.cfg, self.world = train_cfg, world
        if train_cfg.threads:
            torch.set_num_threads(train_cfg.threads)
        torch.manual_seed(train_cfg.seed)  # the same seed on every rank: the same initial weights
        self.device = pick_device(train_cfg.device, world.local_rank if world else 0)
        self.model = RNNLM(model_cfg, vocab_size).to(self.device)
        self.forward = self.model
        if world is not None and world.size > 1:  # DistributedDataParallel averages the gradients
            from torch.nn.parallel import DistributedDataParallel

            self.forward = DistributedDataParallel(self.model, device_ids=[self.device] if self.device.type == "cuda"
                                                   else None)
        self.optimizer = make_optimizer(self.model.parameters(), train_cfg)
        self.amp_dtype = autocast_dtype(train_cfg.precision, self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.state = None

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(a))
        if self.device.type == "cuda":
            return t.pin_memory().to(self.device, non_blocking=True)
        return t

    def reset_state(self) -> None:
        self.state = None

    def train_step(self, x: np.ndarray, y: np.ndarray, lr: float, mask: np.ndarray | None = None,
                   cond: np.ndarray | None = None) -> float:
        """One optimizer step on x, y: (B, T); returns the mean loss in nats per counted token."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.train()
        x, y = self._tensor(x), self._tensor(y)
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.bfloat16, enabled=self.amp_dtype is not None):
            logits, state = self.forward(x, self.state, None if cond is None else self._tensor(cond))  # (B, T, V)
        loss = masked_loss(logits, y, None if mask is None else self._tensor(mask))
        value = loss.item()  # reported without the regularisers: nats per token
        if self.cfg.ar or self.cfg.tar:  # AR and TAR (Merity et al. 2017) on the last layer's outputs
            raw, dropped = self.model.last_output
            loss = loss + self.cfg.ar * dropped.float().pow(2).mean()
            loss = loss + self.cfg.tar * (raw[:, 1:] - raw[:, :-1]).float().pow(2).mean()
        if not np.isfinite(value):
            return value  # the trainer stops; nothing is updated
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.cfg.clip_norm or self.cfg.clip_value:
            self.scaler.unscale_(self.optimizer)
            if self.cfg.clip_value:
                torch.nn.utils.clip_grad_value_(self.model.parameters(), self.cfg.clip_value)
            if self.cfg.clip_norm:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.state = detach_state(state)
        return value

    def evaluate(self, batches, max_batches: int) -> tuple[float, int, int]:
        """Sum of token losses, correct next-token guesses and tokens over the first batches."""
        self.model.eval()
        return score_batches(self.model, batches, self._tensor, self.amp_dtype, max_batches)

    def weights(self) -> dict[str, np.ndarray]:
        return {k: v.float().cpu().numpy() for k, v in self.model.weights().items()}

    def load_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Start from these weights (PyTorch's names; fine-tuning), the optimizer still fresh."""
        self.model.load_weights(weights)

    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict]:
        """Everything exact resume needs, as arrays plus JSON."""
        tensors = {f"model.{k}": v.cpu().numpy() for k, v in self.model.weights().items()}
        opt = self.optimizer.state_dict()
        for idx, slots in opt["state"].items():
            for key, value in slots.items():
                tensors[f"optim.{idx}.{key}"] = torch.as_tensor(value).cpu().numpy()
        tensors |= state_tensors(self.state, lambda t: self._all_streams(t).cpu().numpy())  # (1, B, H), every rank
        tensors["rng.torch"] = torch.get_rng_state().numpy()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state().numpy()
        meta = {"param_groups": opt["param_groups"], "scaler": self.scaler.state_dict()}
        return tensors, meta

    def _all_streams(self, t: torch.Tensor) -> torch.Tensor:
        """The carried state of every rank's streams, (1, B, H), gathered in rank order."""
        if self.world is None or self.world.size == 1:
            return t
        import torch.distributed as dist

        parts = [torch.empty_like(t) for _ in range(self.world.size)]
        dist.all_gather(parts, t.contiguous())
        return torch.cat(parts, dim=1)

    def _my_streams(self, t: torch.Tensor) -> torch.Tensor:
        if self.world is None or self.world.size == 1:
            return t
        per = t.shape[1] // self.world.size
        return t[:, self.world.rank * per:(self.world.rank + 1) * per].contiguous()

    def restore(self, tensors: dict[str, np.ndarray], meta: dict) -> None:
        self.model.load_weights({k[6:]: torch.from_numpy(v) for k, v in tensors.items() if k.startswith("model.")})
        slots: dict[int, dict] = {}
        for k, v in tensors.items():
            if k.startswith("optim."):
                _, idx, key = k.split(".", 2)
                slots.setdefault(int(idx), {})[key] = torch.from_numpy(v.copy())
        self.optimizer.load_state_dict({"state": slots, "param_groups": meta["param_groups"]})
        if meta.get("scaler"):
            self.scaler.load_state_dict(meta["scaler"])
        self.state = state_from_tensors(tensors, lambda a: self._my_streams(torch.from_numpy(a)).to(self.device))
        torch.set_rng_state(torch.from_numpy(tensors["rng.torch"]))
        if "rng.cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(torch.from_numpy(tensors["rng.cuda"]))
