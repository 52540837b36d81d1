"""The torch side of inspection: the torch engine's model over one window at a time.

Its layers' exposed arrays come from each cell's `torch_internals` (rnntext.cells.base): the
fused kernels hide the gates, so a cell with gates is stepped one token at a time in its own
torch maths, in float32. What comes out equals the NumPy engine's arrays to 1e-5 (tested for every cell).
"""

from __future__ import annotations

import numpy as np
import torch

from rnntext import cells
from rnntext.engines.torch.module import RNNLM
from rnntext.inspection.names import array_name


class TorchSteps:
    def __init__(self, model, label: int | None):
        self.label = label
        self.net = RNNLM.trained(model.info.model, len(model.vocab), model.weights)
        self.cell = cells.get(model.info.model.cell)
        self.state = self.net.rnn.zero_state(1, "cpu", torch.float32)

    @torch.no_grad()
    def __call__(self, ids: np.ndarray):
        x = torch.from_numpy(np.asarray(ids, np.int64))[None]  # (1, t)
        cond = None if self.label is None else torch.full_like(x, self.label)
        h, arrays = self.net.embed(x, cond), {}
        for k in range(len(self.net.rnn.hidden_sizes)):
            shown, self.state[k] = self.cell.torch_internals(h, self.state[k], self.net.rnn.layer_params(k))
            for name, a in shown.items():
                arrays[array_name(k, name)] = a[0].numpy().astype(np.float32)
            h = shown["h"]
        return arrays, self.net.output(h)[0].numpy()
