"""The NumPy reference engine: forward and backward by hand, gradient checks, optimizers.

Never imports torch, so a model can be trained and sampled on a machine with NumPy alone.
Parameters are a dict of arrays under PyTorch's names and gate orders (the schema and the
initial values are rnntext.model.parameters'), so a run's `model.safetensors` loads straight
into them. The dtype of the parameters (float32 or float64) is the dtype of every computation.

network.py     the whole language model: zero_state, forward, cross_entropy, loss_and_grads
               (a recurrent layer's equations are its cell's, rnntext.cells)
optim.py       torch.optim's formulas: make_optimizer, optimizer_from_config, clip_grad_norm,
               clip_grad_value
engine.py      one training step (train_step), evaluation sums (evaluate_batch, evaluate_timed),
               and NumpyEngine, the trainer's interface
gradcheck.py   the gradients against central differences (`rnntext gradcheck`)
"""
