import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from rnntext import cells  # noqa: E402
from rnntext.config import ModelConfig  # noqa: E402
from rnntext.engines.torch.module import RNNLM  # noqa: E402
from rnntext.errors import InputError, RunError  # noqa: E402
from rnntext.interop.onnx_export import export_onnx, state_names, verify_onnx  # noqa: E402
from rnntext.model.saved import RunInfo, write_model  # noqa: E402
from rnntext.text.levels.symbols import Vocab  # noqa: E402

VOCAB = Vocab("char", tuple("abcdefg\n "))  # V = 9


def make_run(tmp_path, **model):
    """A run directory with random weights: model.json + model.safetensors, as `train` writes them."""
    torch.manual_seed(0)
    cfg = ModelConfig(**model)
    net = RNNLM(cfg, len(VOCAB))
    with torch.no_grad():  # non-zero biases everywhere, so a dropped bias term shows
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    run = tmp_path / "run"
    run.mkdir()
    weights = {k: v.numpy() for k, v in net.weights().items()}
    write_model(run, RunInfo(run, cfg, VOCAB, {}, {}), weights)
    return run, net.eval()


SHAPES = [
    dict(num_layers=2, hidden_size=(6, 5), embed_size=4),
    dict(num_layers=2, hidden_size=(5,), embed_size=0, dropout=0.5),
    dict(num_layers=1, hidden_size=(7,), embed_size=3),
    dict(num_layers=3, hidden_size=(4, 6, 5), embed_size=5, tie_weights=True),
]


@pytest.mark.parametrize("shape", range(len(SHAPES)))
@pytest.mark.parametrize("cell", cells.names())
def test_one_step_model_matches_the_torch_engine(tmp_path, cell, shape):
    run, net = make_run(tmp_path, cell=cell, **SHAPES[shape])
    summary = export_onnx(run, tmp_path / "m.onnx")
    assert summary["max_abs_diff"] < 1e-4
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    names = state_names(net.cfg)
    assert [i.name for i in session.get_inputs()] == ["ids", *names] == summary["inputs"]
    assert [o.name for o in session.get_outputs()] == ["logits", *(f"{n}_out" for n in names)]
    # five steps at batch 4 (the export traced batch 2), carrying the state, against one torch pass
    ids = np.random.default_rng(1).integers(0, len(VOCAB), (4, 5))  # (B, T)
    state = {n: np.zeros((4, _size(net, n)), np.float32) for n in names}
    steps = []
    for t in range(5):
        logits, *new = session.run(None, {"ids": ids[:, t], **state})  # (B, V)
        steps.append(logits)
        state = dict(zip(names, new))
    with torch.no_grad():
        ref, ref_state = net(torch.from_numpy(ids))  # (B, T, V)
    np.testing.assert_allclose(np.stack(steps, 1), ref.numpy(), atol=1e-5)
    flat_ref = [s for layer in ref_state for s in (layer if isinstance(layer, tuple) else (layer,))]
    for name, want in zip(names, flat_ref, strict=True):
        np.testing.assert_allclose(state[name], want[0].numpy(), atol=1e-5)


def _size(net, name):
    return net.cfg.hidden_sizes[int(name.split("_l")[1])]


def test_export_is_quick_and_atomic(tmp_path):
    import time

    run, _ = make_run(tmp_path, cell="lstm", num_layers=2, hidden_size=(64,), embed_size=32)
    start = time.perf_counter()
    export_onnx(run, tmp_path / "m.onnx", verify=False)
    assert time.perf_counter() - start < 10
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    with pytest.raises(InputError, match="force=True"):
        export_onnx(run, tmp_path / "m.onnx")
    export_onnx(run, tmp_path / "m.onnx", force=True)
    assert verify_onnx(run, tmp_path / "m.onnx", steps=2, batch=1) < 1e-4


def test_export_refuses_bad_runs_and_outputs(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        export_onnx(tmp_path / "nope", tmp_path / "m.onnx")
    run, _ = make_run(tmp_path, cell="gru", num_layers=1, hidden_size=(4,), embed_size=3)
    with pytest.raises(RunError, match="best.safetensors is missing"):
        export_onnx(run, tmp_path / "m.onnx", weights="best")
    with pytest.raises(InputError, match="is a directory"):
        export_onnx(run, tmp_path)
    assert not (tmp_path / "m.onnx").exists()
