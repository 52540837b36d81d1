"""The cell registry: one module per cell, and nothing outside rnntext.cells knows a cell by name.

What each cell must pass (gradient check, parity with the torch engine, chunked state carry,
both sampling paths, ONNX, exact resume) is parametrised over `cells.names()` in the tests of
the engines, generation, interop and training: registering a cell is what puts it under test.
"""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnntext import cells
from rnntext.config import CELLS, ModelConfig
from rnntext.errors import ConfigError

SRC = Path(__file__).resolve().parents[1] / "src" / "rnntext"
# The one place a cell's name may be written outside rnntext/cells: the configuration's default
# (config.py is the home of every default). Presets name cells in TOML, which is data.
ALLOWED = {("config.py", "lstm")}


def test_registry_lists_the_cells_in_order_and_config_offers_them():
    assert cells.names()[:6] == ("rnn_tanh", "rnn_relu", "lstm", "gru", "mingru", "minlstm")
    assert CELLS == cells.names()
    assert ModelConfig.__dataclass_fields__["cell"].metadata["choices"] == cells.names()
    assert all(cells.get(name).name == name for name in cells.names())
    for wrong in (lambda: cells.get("lstn"), lambda: ModelConfig(cell="lstn")):  # the same one line
        with pytest.raises(ConfigError, match="^cell: 'lstn' is not one of rnn_tanh, rnn_relu, lstm, gru, mingru"):
            wrong()


def _cell_names_in(rel: str, source: str) -> list[str]:
    """Every string constant of `source` that is a registered cell's name, as `file:line: 'name'`."""
    names = set(cells.names())
    hits = sorted((node.lineno, node.value) for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.Constant) and node.value in names and (rel, node.value) not in ALLOWED)
    return [f"{rel}:{line}: {name!r}" for line, name in hits]


def test_no_module_outside_cells_names_a_cell():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] != "cells":
            found += _cell_names_in(str(rel), path.read_text(encoding="utf-8"))
    assert not found, "cell names outside rnntext/cells (ask the registry instead):\n" + "\n".join(found)
    assert (SRC / "config.py").read_text(encoding="utf-8").count('"lstm"') == 1  # the allowed default, once


def test_the_name_check_can_fail():
    source = 'G = 4 if model_cfg.cell == "lstm" else 1\nKERNELS = {"gru": f"{x}"}\n'
    assert _cell_names_in("engines/model.py", source) == ["engines/model.py:1: 'lstm'", "engines/model.py:2: 'gru'"]
    assert _cell_names_in("config.py", 'cell = opt("lstm")') == []


@pytest.mark.parametrize("name", cells.names())
def test_every_cell_describes_itself_consistently(name):
    cell = cells.get(name)
    assert cell.description and (cell.torch_kernel or type(cell).torch_layer is not cells.base.Cell.torch_layer)
    assert cell.state_parts[0] == "h" and len(set(cell.state_parts)) == len(cell.state_parts)
    assert cell.gates <= cell.packed_blocks and 0 <= cell.halved_blocks <= cell.packed_blocks
    assert cell.recurrent_blocks == (cell.gates if cell.recurrent else 0)
    shapes = cell.parameter_shapes(5, 3)
    assert list(shapes) == list(cell.parameters) == (["weight_ih", "weight_hh", "bias_ih", "bias_hh"] if cell.recurrent
                                                     else ["weight_ih", "bias_ih"])
    expected = {"weight_ih": (3 * cell.gates, 5), "weight_hh": (3 * cell.gates, 3),
                "bias_ih": (3 * cell.gates,), "bias_hh": (3 * cell.gates,)}
    assert shapes == {name: expected[name] for name in shapes}
    parts = tuple(np.full((2, 3), j) for j in range(len(cell.state_parts)))
    state = cell.layer_state(parts)
    assert all(a is b for a, b in zip(cell.parts(state), parts, strict=True))
    rng = np.random.default_rng(0)
    w_x, b, w_h = cell.pack_rows(3, *(rng.standard_normal(s) for s in shapes.values()))
    assert w_x.shape == (3 * cell.packed_blocks, 5) and b.shape == (3 * cell.packed_blocks,)
    assert (w_h is None) if not cell.recurrent else w_h.shape == (3 * cell.packed_blocks, 3)


@pytest.mark.parametrize("name", cells.names())
def test_layer_shapes_add_up_to_the_parameter_count(name):
    from rnntext.model.parameters import layer_shapes, param_shapes

    cfg = ModelConfig(cell=name, num_layers=2, hidden_size=(6, 4), embed_size=3)
    layers = layer_shapes(cfg, 9)
    G, recurrent = cells.get(name).gates, cells.get(name).recurrent
    assert layers[0]["rnn.weight_ih_l0"] == (6 * G, 3) and layers[0].get("rnn.weight_hh_l0") == ((6 * G, 6) if recurrent
                                                                                             else None)
    second = {"rnn.weight_ih_l1": (4 * G, 6), "rnn.weight_hh_l1": (4 * G, 4), "rnn.bias_ih_l1": (4 * G,),
              "rnn.bias_hh_l1": (4 * G,)}
    assert layers[1] == (second if recurrent else {"rnn.weight_ih_l1": (4 * G, 6), "rnn.bias_ih_l1": (4 * G,)})
    rest = {"embedding.weight": (9, 3), "output.weight": (9, 4), "output.bias": (9,)}
    assert param_shapes(cfg, 9) == {**rest, **layers[0], **layers[1]}


def test_gradcheck_checks_every_cell_by_default():
    from rnntext.cli import build_parser

    assert build_parser().parse_args(["gradcheck"]).cell == list(cells.names())


def test_the_registry_imports_without_torch():
    code = "import sys, rnntext.cells, rnntext.config; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
