"""A model's parameters: every name and shape (the schema), how many there are, their initial values.

Names and shapes are PyTorch's (`embedding.weight`, `rnn.weight_ih_l0`, `output.bias`, ...; a
recurrent layer's are its cell's, rnntext.cells), so both engines, the run directory's weights
files, the packed sampling runtimes and the exporters all follow this one schema.
`model_cfg` is an rnntext.config.ModelConfig with its sizes chosen (`without_auto` where a run
has not chosen them yet). NumPy only.
"""

from __future__ import annotations

import math
import re

import numpy as np

from rnntext import cells


def layer_shapes(model_cfg, vocab_size: int) -> list[dict[str, tuple[int, ...]]]:
    """Per recurrent layer k, its parameters' names (PyTorch's `rnn.weight_ih_l{k}`, ...) and
    shapes, as the cell lays them out."""
    cell = cells.get(model_cfg.cell)
    d = (model_cfg.embed_size or vocab_size) + len(model_cfg.labels)  # one-hot input: V features; labels join
    layers = []
    for k, H in enumerate(model_cfg.hidden_sizes):
        layers.append({f"rnn.{name}_l{k}": shape for name, shape in cell.parameter_shapes(d, H).items()})
        d = H
    return layers


def param_shapes(model_cfg, vocab_size: int) -> dict[str, tuple[int, ...]]:
    """Every parameter's name and shape. With tie_weights the output layer reuses embedding.weight."""
    V, E = vocab_size, model_cfg.embed_size
    shapes: dict[str, tuple[int, ...]] = {}
    if E:
        shapes["embedding.weight"] = (V, E)
    for layer in layer_shapes(model_cfg, vocab_size):
        shapes |= layer
    if not model_cfg.tie_weights:
        shapes["output.weight"] = (V, model_cfg.hidden_sizes[-1])
    shapes["output.bias"] = (V,)
    return shapes


def count_parameters(model_cfg, vocab_size: int, module: str | None = None, layer: int | None = None) -> int:
    """How many parameters the model has: all of them, those of one module (embedding, rnn or
    output), or those of recurrent layer `layer`. The one count: a run's recipe, `info`, the
    default recipe's size rule and the check of a model.json all ask it."""
    return sum(math.prod(shape) for name, shape in param_shapes(model_cfg, vocab_size).items()
               if _part_of(name, module, layer))


def _part_of(name: str, module: str | None, layer: int | None) -> bool:
    """Whether parameter `name` belongs to `module` ("rnn.weight_ih_l1" to rnn) and to recurrent `layer` (1)."""
    head, _, tensor = name.partition(".")
    k = re.search(r"_l(\d+)$", tensor)
    return (module is None or head == module) and (layer is None or (k is not None and int(k[1]) == layer))


def init_params(model_cfg, vocab_size: int, rng: np.random.Generator, dtype=np.float32) -> dict[str, np.ndarray]:
    """Fresh parameters following model_cfg.init. The one home of the initialisation rules: both
    engines start from what this draws (the torch engine from a seed its own generator gives).

    default: PyTorch's own module defaults: embedding N(0, 1) (nn.Embedding), recurrent
             weights and biases U(+-1/sqrt(H)) (nn.LSTM), output weight and bias
             U(+-1/sqrt(H_last)) (nn.Linear). A tied embedding, which is also the output
             weight, starts at U(+-0.1) (AWD-LSTM): N(0, 1) would give logits of scale sqrt(H).
             Under Adam every weight moves about lr per step whatever its scale, so an
             embedding that starts at the scale the recurrent layer reads leaves the unigram
             plateau hundreds of steps sooner than one at +-0.1 (docs/recipe.md: Initialisation).
    uniform: recurrent weights as default; embedding and output weight U(+-0.1), output bias 0
             (pytorch/examples' word_language_model, chosen there for SGD at learning rate 20).
    xavier:  Xavier-uniform input weights and orthogonal recurrent weights per gate block
             (Saxe et al. 2014), zero biases (the Keras labs' glorot_uniform and orthogonal).
    caffe:   Xavier-uniform input and recurrent weights, zero biases (the Caffe lab).
    Then the cell's own rule (rnntext.cells: the LSTM's forget-gate bias, model_cfg.forget_bias).
    """
    params = {}
    for name, shape in param_shapes(model_cfg, vocab_size).items():
        params[name] = _init_one(name, shape, model_cfg, rng)
    cell = cells.get(model_cfg.cell)
    for k, H in enumerate(model_cfg.hidden_sizes):
        cell.init_layer(params, k, H, model_cfg)
    if model_cfg.init == "default" and model_cfg.labels and model_cfg.embed_size and not model_cfg.tie_weights:
        # a one-hot label is one input of scale 1 beside E embedding inputs of scale 1: its
        # columns start sqrt(E) times larger, so that it moves the gates as much as the token does
        params["rnn.weight_ih_l0"][:, model_cfg.embed_size:] *= np.sqrt(model_cfg.embed_size)
    return {name: p.astype(dtype) for name, p in params.items()}


def _init_one(name: str, shape: tuple[int, ...], model_cfg, rng) -> np.ndarray:
    if name.startswith("rnn."):
        return _init_recurrent(name, shape, model_cfg, rng)
    default = model_cfg.init == "default"
    if name == "embedding.weight":
        if default and not model_cfg.tie_weights:
            return rng.standard_normal(shape)
        return rng.uniform(-0.1, 0.1, shape)
    if not default:  # the output layer of the other rules: pytorch/examples'
        return np.zeros(shape) if name == "output.bias" else rng.uniform(-0.1, 0.1, shape)
    bound = 1.0 / np.sqrt(model_cfg.hidden_sizes[-1])
    return rng.uniform(-bound, bound, shape)


def _init_recurrent(name: str, shape: tuple[int, ...], model_cfg, rng) -> np.ndarray:
    H = model_cfg.hidden_sizes[int(name.rsplit("_l", 1)[1])]
    if model_cfg.init in ("default", "uniform"):
        return rng.uniform(-1.0 / np.sqrt(H), 1.0 / np.sqrt(H), shape)
    if name.startswith("rnn.bias"):
        return np.zeros(shape)
    blocks = shape[0] // H  # one block per gate: each gate is its own (H, D) map
    if "weight_hh" in name and model_cfg.init == "xavier":
        return np.concatenate([np.linalg.qr(rng.standard_normal((H, H)))[0] for _ in range(blocks)])
    bound = np.sqrt(6.0 / (H + shape[1]))  # Xavier-uniform over one gate block
    return rng.uniform(-bound, bound, shape)
