"""The NumPy reference engine: forward and backward by hand, gradient checks, optimizers.

Never imports torch, so a model can be trained and sampled on a machine with NumPy alone.
Parameters are a dict of arrays under PyTorch's names and gate orders (`param_shapes` lists
them), so a run's `model.safetensors` loads with `safetensors.numpy.load_file`. The dtype of
the parameters (float32 or float64) is the dtype of every computation.

Model (model.py; a recurrent layer's equations are its cell's, rnntext.cells); `cfg` is an
`rnntext.config.ModelConfig`, x and y are (B, T) int ids:
    param_shapes(cfg, vocab_size) -> {name: shape}
    layer_shapes(cfg, vocab_size) -> [{name: shape} per recurrent layer]   # as the cell lays them out
    init_params(cfg, vocab_size, rng, dtype=np.float32) -> params
    zero_state(cfg, batch_size, dtype) -> state        # per layer h (B, H_k), or the cell's parts: LSTM (h, c)
    forward(params, cfg, x, state=None, train=False, rng=None) -> (logits (B, T, V), new_state, cache)
    cross_entropy(logits, y, mask=None) -> (mean nats per token, dlogits)
    loss_and_grads(params, cfg, x, y, state=None, mask=None, l2=0.0, train=True, rng=None)
        -> (loss, grads, new_state)
    step(params, cfg, ids (B,), state=None) -> (logits (B, V), new_state)   # for sampling
    output_weight(params, cfg) -> (V, H_last)   # embedding.weight when tied
new_state is detached (plain arrays) for carrying across truncated-BPTT batches. Dropout
(on each layer's output) runs only with train=True and then needs rng, an np.random.Generator.
With tie_weights only `embedding.weight` is a parameter: a duplicate `output.weight` in a
loaded state dict is ignored (and gets no gradient), so drop it before training.

Optimizers (optim.py), torch.optim's formulas:
    make_optimizer(name, *, momentum, nesterov, beta1, beta2, alpha, eps, weight_decay) -> Optimizer
    optimizer_from_config(train_cfg) -> Optimizer
    Optimizer.step(params, grads, lr); .state_dict() -> {str: array}; .load_state_dict(d)
    clip_grad_norm(grads, max_norm) -> total norm before clipping;  clip_grad_value(grads, value)

Runtime (runtime.py), for the trainer and the sampler:
    train_step(params, cfg, optimizer, x, y, state, lr, *, mask, clip_norm, clip_value, l2, rng)
        -> (loss, grad norm before clipping, new_state)       # updates params in place
    evaluate_batch(params, cfg, x, y, state=None, mask=None) -> (nll_sum, count, correct, new_state)
    load_params(path, cfg, vocab_size, dtype=None) -> params   # model.safetensors; RunError on mismatch

Gradient checks (gradcheck.py):
    run_gradcheck(cell, num_layers, dtype, embed_size, seed, *, tie_weights, mask, l2, dropout)
        -> [(name, relative error)]
    relative_errors(params, loss_and_grads_fn, h) -> [(name, relative error)]
    format_report(errors) -> ["rnn.weight_hh_l0 relative error: 1.23e-09", ...]
    passed(errors, dtype) -> bool;  THRESHOLDS = {"float64": 1e-7, "float32": 1e-1}
"""

from rnntext.engines.numpy.gradcheck import THRESHOLDS, format_report, passed, relative_errors, run_gradcheck
from rnntext.engines.numpy.model import (
    cross_entropy,
    forward,
    loss_and_grads,
    output_weight,
    step,
    zero_state,
)
from rnntext.engines.numpy.optim import (
    SGD,
    Adagrad,
    Adam,
    Optimizer,
    RMSprop,
    clip_grad_norm,
    clip_grad_value,
    make_optimizer,
    optimizer_from_config,
)
from rnntext.engines.numpy.runtime import evaluate_batch, load_params, train_step
from rnntext.model.parameters import init_params, layer_shapes, param_shapes

__all__ = [
    "SGD", "THRESHOLDS", "Adagrad", "Adam", "Optimizer", "RMSprop", "clip_grad_norm", "clip_grad_value",
    "cross_entropy", "format_report", "forward", "init_params", "layer_shapes", "loss_and_grads", "make_optimizer",
    "optimizer_from_config", "output_weight", "param_shapes", "passed", "relative_errors", "run_gradcheck",
    "step", "zero_state", "evaluate_batch", "load_params", "train_step",
]
