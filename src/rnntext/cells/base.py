"""What a recurrent cell is: the one description that every engine, runtime and exporter reads.

A cell is laid out as PyTorch lays out nn.RNN, nn.LSTM and nn.GRU, so a checkpoint loads in
both engines and in torch itself. Per layer k of width H with input width D:

    parameters  weight_ih (G*H, D), weight_hh (G*H, H), bias_ih (G*H,), bias_hh (G*H,)
                G gate blocks of H rows each, in PyTorch's gate order. A cell whose state
                enters only element-wise (`recurrent = False`: minGRU, minLSTM) has no
                weight_hh and bias_hh: its layer is one input projection and a scan.
    state       one (B, H) array per part in `state_parts`: ("h",), or ("h", "c") for LSTM.
                A layer's state is the bare array when there is one part, else a tuple of
                the parts in that order (PyTorch's convention: torch.lstm takes (h, c)).

The pieces a cell module provides, and who calls them:

    forward(xw, w_hh, b_hh, state) -> (out, final, cache)     NumPy training (engines/numpy/network.py):
    backward(dout, w_hh, cache) -> (dxw, dw_hh, db_hh)        one layer over a window, hand-written;
                                                              w_hh, b_hh, dw_hh, db_hh None without them
    torch_kernel                                              torch training: the name of the fused
                                                              torch op (torch.lstm, ...), cuDNN on CUDA
    pack_rows(H, w_ih, w_hh, b_ih, b_hh) -> (w_x, b, w_h)     sampling (generation/packing.py): the
    packed_blocks, halved_blocks                              packed gate layout, float64
    numpy_step(pre, h) -> kernel  (or a class NumpyStep)      NumPy sampling (generation/runtime.py)
    torch_step(pre, h) -> kernel  (or a class TorchStep)      torch batched sampling (engines/torch/streams.py)
    init_layer(params, k, H, model_cfg)                       cell-specific initialisation (optional)
    exposes, fractions                                        inspection (rnntext.inspection): the arrays
    numpy_internals(out, cache) -> {name: (T, B, H)}          a layer shows, from NumPy's forward and
    torch_internals(x, state, params) -> ({name: (B, T, H)},  stepped in torch (inside_step: one step's
                                          new state)          maths); the hidden state alone by default

A step kernel is built once over views of preallocated buffers: `pre` holds the layer's
packed pre-activations (its first `recurrent_blocks * H` columns, the recurrent rows, have
the recurrent product added), `h` is where the new hidden state goes. `kernel.state` is the tuple of state
arrays (h first); `kernel(xin)` runs one step in place, xin being the packed rows past the
recurrent ones (GRU's `in`; every row for a cell without recurrent weights; empty for the
others): a kernel reads it and never writes it. The ONNX graph is the torch model traced
one step at a time: all a cell gives it is `state_parts`, the names of its state inputs.
"""

from __future__ import annotations

import numpy as np

PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # PyTorch's names, in its kernels' order
INPUT_PARAMETERS = ("weight_ih", "bias_ih")  # those of a cell without recurrent weights


def sigmoid(x: np.ndarray) -> np.ndarray:
    # The tanh form never overflows (1 / (1 + exp(-x)) warns for x < -88 in float32).
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def torch_tanh(x, out=None):
    """tanh for the torch step kernels, as 2 * sigmoid(2x) - 1 (in place when out is x): PyTorch's
    CPU tanh runs about ten times slower than its sigmoid (2.13, AVX-512 and AVX2 alike), so four
    cheap element-wise calls beat one; the result is within 2e-7 of tanh (float32)."""
    import torch

    out = x if out is None else out
    return torch.mul(x, 2, out=out).sigmoid_().mul_(2).sub_(1)


class Cell:
    """A recurrent cell; subclasses fill in the class attributes and the methods that raise."""

    name: str = ""
    aliases: tuple[str, ...] = ()    # other names --cell accepts for it (the registry resolves them)
    description: str = ""            # one line: the equations' source, for documentation
    gates: int = 1                   # G: rows of weight_ih / weight_hh per unit of H
    state_parts: tuple[str, ...] = ("h",)
    torch_kernel: str = ""           # the fused torch op, e.g. "lstm" for torch.lstm
    packed_blocks: int = 1           # packed rows per unit of H (GRU adds its `in` rows: 4)
    halved_blocks: int = 0           # leading packed blocks stored at half scale (sigmoid via tanh)
    recurrent: bool = True           # has weight_hh and bias_hh (a recurrent matrix product per step)
    # The step in JavaScript for the exported web page (rnntext.interop.web): a JS object literal
    # `{ step(gx, gh, s, H) { ... } }` that writes the new state into s.h (and s.c, ...) from
    # gx = W_ih x + b_ih and gh = W_hh h + b_hh in PyTorch's gate order (gh is null for a cell
    # without recurrent weights); "" when it has none.
    js_step: str = ""

    # --- layout -------------------------------------------------------------------------
    @property
    def parameters(self) -> tuple[str, ...]:
        """One layer's parameter names (without `_l{k}`), in the order torch_layer takes them."""
        return PARAMETERS if self.recurrent else INPUT_PARAMETERS

    @property
    def recurrent_blocks(self) -> int:
        """Leading packed blocks that the recurrent product fills: `gates`, or 0 without weight_hh."""
        return self.gates if self.recurrent else 0

    def parameter_shapes(self, input_size: int, hidden: int) -> dict[str, tuple[int, ...]]:
        """One layer's parameters, PyTorch's names (without `_l{k}`) in its kernels' order."""
        rows = self.gates * hidden
        shapes = {"weight_ih": (rows, input_size), "weight_hh": (rows, hidden), "bias_ih": (rows,), "bias_hh": (rows,)}
        return {name: shapes[name] for name in self.parameters}

    def layer_state(self, parts):
        """A layer's state from its parts (h first): the bare array for one part, else a tuple."""
        parts = tuple(parts)
        return parts[0] if len(self.state_parts) == 1 else parts

    def parts(self, state) -> tuple:
        """The inverse of `layer_state`: a layer's state as the tuple of its parts."""
        return (state,) if len(self.state_parts) == 1 else tuple(state)

    def init_layer(self, params: dict, k: int, hidden: int, model_cfg) -> None:
        """Cell-specific initialisation of layer k, in place, after the general rules (none here)."""

    # --- NumPy training -------------------------------------------------------------------
    def forward(self, xw: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray, state):
        """One layer over xw = x @ W_ih.T + b_ih (T, B, G*H), time-major.
        Returns (out (T, B, H), final state, cache for backward)."""
        raise NotImplementedError

    def backward(self, dout: np.ndarray, w_hh: np.ndarray, cache):
        """Given dL/dout (T, B, H), return (dxw (T, B, G*H), dW_hh, db_hh)."""
        raise NotImplementedError

    # --- torch training -------------------------------------------------------------------
    def torch_layer(self, x, state, params: list, training: bool):
        """One layer over a window with the fused kernel: x (B, T, D), state per `layer_state`
        of (1, B, H) tensors, params in `parameters` order. Returns (out (B, T, H), new state)."""
        import torch

        out, *parts = getattr(torch, self.torch_kernel)(x, state, params, True, 1, 0.0, training, False, True)
        return out, self.layer_state(parts)

    # --- sampling ---------------------------------------------------------------------------
    def pack_rows(self, H: int, w_ih, w_hh, b_ih, b_hh):
        """(W_x (W, D), b (W,), W_h (W, H)) in the packed gate layout, W = packed_blocks * H;
        both biases folded into b; the first halved_blocks * H rows scaled by 1/2. A cell without
        recurrent weights is given w_ih and b_ih only and returns W_h None."""
        raise NotImplementedError

    NumpyStep: type | None = None    # the step kernels' classes, built as Kernel(pre, h)
    TorchStep: type | None = None

    def numpy_step(self, pre: np.ndarray, h: np.ndarray):
        """The NumPy step kernel over float32 views (1-D for one stream, (B, ...) for a batch)."""
        return self.NumpyStep(pre, h)

    @property
    def torch_doubled(self) -> int:
        """Leading packed blocks the torch streams scale by 2: the halved ones, back to plain
        pre-activations for torch's sigmoid; a cell that computes tanh through a sigmoid too
        (torch_tanh) names more (LSTM's g)."""
        return self.halved_blocks

    def torch_step(self, pre, h):
        """The torch step kernel over (B, ...) tensors; the first `torch_doubled` blocks come
        scaled by 2 (by default the halved ones, so sigmoid rows hold plain pre-activations)."""
        return self.TorchStep(pre, h)

    # --- inspection -------------------------------------------------------------------------
    # The arrays of one layer a person can look inside (rnntext.inspection), name -> what it is:
    # the hidden state first, then the other state parts and the gates. A cell that declares
    # nothing more shows its hidden state.
    exposes: dict[str, str] = {"h": "hidden state"}
    fractions: tuple[str, ...] = ()  # those of `exposes` that lie in (0, 1) (sigmoid gates, shares)

    def numpy_internals(self, out: np.ndarray, cache) -> dict[str, np.ndarray]:
        """The `exposes` arrays of one layer, each (T, B, H), from `forward`'s output and cache."""
        return {"h": out}

    def inside_step(self, xw, parts: tuple, w_hh, b_hh):
        """One step in torch, float32: xw = W_ih x + b_ih (B, G*H), the state parts (B, H) ->
        ({name: (B, H)} for every name in `exposes`, the new parts). A cell without one shows the
        fused kernel's hidden state (torch_internals)."""
        raise NotImplementedError

    def torch_internals(self, x, state, params: list):
        """The `exposes` arrays of one layer over x (B, T, D), state per `layer_state` of (1, B, H)
        tensors, params in `parameters` order: ({name: (B, T, H) float32 tensor}, new state). The
        fused kernels hide the gates, so a cell with `inside_step` is stepped one token at a time."""
        import torch

        x, params = x.float(), [p.float() for p in params]
        if type(self).inside_step is Cell.inside_step:
            out, final = self.torch_layer(x, state, params, False)
            return {"h": out}, final
        named = dict(zip(self.parameters, params))
        xw = torch.nn.functional.linear(x, named["weight_ih"], named["bias_ih"])  # (B, T, G*H)
        parts, steps = tuple(s[0].float() for s in self.parts(state)), []
        for t in range(x.shape[1]):
            shown, parts = self.inside_step(xw[:, t], parts, named.get("weight_hh"), named.get("bias_hh"))
            steps.append(shown)
        arrays = {name: torch.stack([s[name] for s in steps], dim=1) for name in self.exposes}
        return arrays, self.layer_state(p[None] for p in parts)

    def __repr__(self) -> str:
        return f"<cell {self.name}>"
