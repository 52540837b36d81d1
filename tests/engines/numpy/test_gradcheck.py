"""Every hand-written gradient against central differences, in float64, for every registered cell."""

import pytest

from rnntext import cells
from rnntext.engines.numpy.gradcheck import THRESHOLDS, format_report, passed, run_gradcheck

CELLS = cells.names()


def _assert_exact(errors, expected_names):
    assert [name for name, _ in errors] == expected_names
    bad = [line for line, (_, err) in zip(format_report(errors), errors) if not err <= 1e-7]
    assert not bad, bad


def _names(num_layers, embed, tied=False, cell="lstm"):
    names = ["embedding.weight"] if embed else []
    for k in range(num_layers):
        names += [f"rnn.{name}_l{k}" for name in cells.get(cell).parameters]  # weight_ih, (weight_hh,) bias_ih, ...
    return names + ([] if tied else ["output.weight"]) + ["output.bias"]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("embed_size", [0, 4])
def test_every_parameter_matches_central_differences(cell, num_layers, embed_size):
    _assert_exact(run_gradcheck(cell, num_layers, "float64", embed_size, seed=1), _names(num_layers, embed_size, cell=cell))


@pytest.mark.parametrize("cell", CELLS)
def test_tied_weights_mask_l2_and_dropout(cell):
    errors = run_gradcheck(cell, 3, "float64", 4, seed=2, tie_weights=True, mask=True, l2=0.05, dropout=0.3)
    _assert_exact(errors, _names(3, True, tied=True, cell=cell))


@pytest.mark.parametrize("cell", CELLS)
def test_weight_drop(cell):
    """DropConnect on W_hh: the gradient reaches W_hh through the same mask the forward used
    (a cell without W_hh has nothing to drop, and its gradients stay exact)."""
    errors = run_gradcheck(cell, 2, "float64", 4, seed=4, weight_drop=0.5)
    _assert_exact(errors, _names(2, True, cell=cell))


@pytest.mark.parametrize("options", [{"mask": True}, {"l2": 0.1}, {"tie_weights": True}])
def test_each_option_alone(options):
    errors = run_gradcheck("lstm", 1, "float64", 4, seed=3, **options)
    _assert_exact(errors, _names(1, True, tied=options.get("tie_weights", False)))


@pytest.mark.parametrize("cell", CELLS)
def test_a_wrong_gradient_is_caught(cell, monkeypatch):
    # The check itself must be able to fail: a 1% error in one gradient shows up as a large error.
    original, recurrent = cells.get(cell).backward, cells.get(cell).recurrent

    def broken(dout, w_hh, cache):  # W_hh's gradient, or the input projection's without one
        dxw, dw_hh, db = original(dout, w_hh, cache)
        return (dxw, dw_hh * 1.01, db) if recurrent else (dxw * 1.01, dw_hh, db)

    monkeypatch.setattr(cells.get(cell), "backward", broken)
    errors = dict(run_gradcheck(cell, 1, "float64", 4, seed=0))
    assert errors["rnn.weight_hh_l0" if recurrent else "rnn.weight_ih_l0"] > 1e-3
    assert not passed(list(errors.items()))


def test_report_format_and_float32_smoke():
    errors = run_gradcheck("gru", 1, "float32", 0, seed=0)
    assert passed(errors, "float32") and THRESHOLDS["float32"] > THRESHOLDS["float64"]
    line = format_report([("rnn.weight_hh_l0", 1.234e-9)])[0]
    assert line == "rnn.weight_hh_l0 relative error: 1.23e-09"
