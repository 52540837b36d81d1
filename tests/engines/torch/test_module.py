import pytest
import torch

from rnntext import cells
from rnntext.config import ModelConfig
from rnntext.engines.torch.module import RNNLM

# The cells PyTorch ships as modules: the engine's fused kernels must be exactly these modules.
TORCH_MODULES = {"lstm": (torch.nn.LSTM, {}), "gru": (torch.nn.GRU, {}),
                 "rnn_tanh": (torch.nn.RNN, {"nonlinearity": "tanh"}),
                 "rnn_relu": (torch.nn.RNN, {"nonlinearity": "relu"})}


@pytest.mark.parametrize("cell", cells.names())
@pytest.mark.parametrize("embed", [0, 5])
def test_one_pass_equals_chunks_with_carried_state(cell, embed):
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(cell=cell, num_layers=3, hidden_size=(7, 6, 5), embed_size=embed), 9).double().eval()
    x = torch.randint(0, 9, (2, 30))
    whole, final = model(x)
    state, parts = None, []
    for lo in range(0, 30, 7):
        out, state = model(x[:, lo:lo + 7], state)
        parts.append(out)
    assert torch.allclose(torch.cat(parts, 1), whole, atol=1e-12, rtol=0)
    assert len(state) == len(final) == 3
    for ours, theirs in zip(state, final):  # the carried state too, every part of it
        for a, b in zip(cells.get(cell).parts(ours), cells.get(cell).parts(theirs), strict=True):
            assert torch.allclose(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("cell", sorted(TORCH_MODULES))
def test_matches_torch_modules_with_copied_weights(cell):
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(cell=cell, num_layers=2, hidden_size=(8,), embed_size=4), 6).double().eval()
    module, options = TORCH_MODULES[cell]
    ref = module(4, 8, num_layers=2, batch_first=True, **options).double()
    ref.load_state_dict({k[4:]: v for k, v in model.state_dict().items() if k.startswith("rnn.")})
    x = torch.randint(0, 6, (3, 5))
    out, _ = ref(model.embedding(x))
    assert torch.allclose(model(x)[0], model.output(out), atol=1e-12)


def test_forget_bias_and_tied_weights():
    model = RNNLM(ModelConfig(num_layers=1, hidden_size=(8,), embed_size=8, tie_weights=True, init="xavier",
                              forget_bias=1.0), 5)
    b = model.rnn.bias_ih_l0.detach()
    assert b[8:16].eq(1.0).all() and b[:8].eq(0).all()
    assert model.output.weight is model.embedding.weight
    assert "output.weight" not in model.weights()
    w = model.rnn.weight_hh_l0.detach()[:8]
    assert torch.allclose(w @ w.T, torch.eye(8), atol=1e-5)  # orthogonal recurrent block


def test_awd_regularisers_act_in_training_only():
    torch.manual_seed(0)
    cfg = ModelConfig(num_layers=2, hidden_size=(16,), embed_size=8, dropout=0.4, locked_dropout=True,
                      input_dropout=0.3, embed_dropout=0.2, weight_drop=0.5)
    model = RNNLM(cfg, 11)
    x = torch.randint(0, 11, (4, 9))
    model.eval()
    a, b = model(x)[0], model(x)[0]
    assert torch.equal(a, b)  # no randomness at inference: the full weights, no masks
    model.train()
    c, d = model(x)[0], model(x)[0]
    assert not torch.allclose(c, d)
    raw, dropped = model.last_output
    zero = dropped == 0
    assert torch.equal(zero[:, :1].expand_as(zero), zero)  # locked: the same units dropped at every step
    assert model.rnn.weight_hh_l0.requires_grad and torch.equal(model.rnn.weight_hh_l0, model.rnn.weight_hh_l0)


def test_ar_tar_in_the_engine(tmp_path):
    import numpy as np

    from rnntext.config import TrainConfig
    from rnntext.engines.torch.engine import TorchEngine

    x = np.random.default_rng(0).integers(0, 11, (4, 9))
    y = np.roll(x, -1, axis=1)
    losses = []
    for ar in (0.0, 50.0):
        engine = TorchEngine(ModelConfig(num_layers=1, hidden_size=(16,), embed_size=8),
                             TrainConfig(ar=ar, tar=ar, lr=0.1, optimizer="sgd"), 11)
        engine.train_step(x, y, 0.1)
        losses.append(engine.weights()["rnn.weight_hh_l0"])
    assert not np.allclose(losses[0], losses[1])  # the regularisers changed the update
