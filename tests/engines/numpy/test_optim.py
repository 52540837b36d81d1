"""NumPy optimizers against torch.optim, step for step, and exact resume from state_dict."""

import numpy as np
import pytest
import safetensors.numpy
import torch

from rnntext.engines.numpy.optim import clip_grad_norm, clip_grad_value, make_optimizer

CASES = [
    ("sgd", {}),
    ("sgd", {"weight_decay": 0.01}),
    ("momentum", {"momentum": 0.8}),
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.02}),
    ("adam", {}),
    ("adam", {"beta1": 0.8, "beta2": 0.95, "eps": 1e-6, "weight_decay": 0.01}),
    ("adamw", {"weight_decay": 0.1}),
    ("rmsprop", {}),
    ("rmsprop", {"alpha": 0.9, "momentum": 0.5, "weight_decay": 0.01}),
    ("adagrad", {"eps": 1e-10}),
    ("adagrad", {"weight_decay": 0.05, "eps": 1e-10}),
]
LRS = [0.1, 0.05, 0.05, 0.02, 0.01]  # a changing rate, as a schedule would give


def _torch_optimizer(name, params, kw):
    wd = kw.get("weight_decay", 0.0)
    if name in ("sgd", "momentum"):
        return torch.optim.SGD(params, lr=1.0, momentum=kw.get("momentum", 0.0), nesterov=kw.get("nesterov", False),
                               weight_decay=wd)
    if name in ("adam", "adamw"):
        cls = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
        return cls(params, lr=1.0, betas=(kw.get("beta1", 0.9), kw.get("beta2", 0.999)), eps=kw.get("eps", 1e-8),
                   weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=1.0, alpha=kw.get("alpha", 0.99), eps=kw.get("eps", 1e-8),
                                   momentum=kw.get("momentum", 0.0), weight_decay=wd)
    return torch.optim.Adagrad(params, lr=1.0, eps=kw["eps"], weight_decay=wd)


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    params = {"a.weight": rng.standard_normal((3, 4)), "a.bias": rng.standard_normal(3)}
    grads = [{n: rng.standard_normal(p.shape) for n, p in params.items()} for _ in LRS]
    return params, grads


@pytest.mark.parametrize(("name", "kw"), CASES)
def test_steps_match_torch_optim(name, kw):
    params, grads = _problem()
    tensors = {n: torch.tensor(p.copy(), requires_grad=True) for n, p in params.items()}
    reference = _torch_optimizer(name, list(tensors.values()), kw)
    ours = make_optimizer(name, **kw)
    for lr, g in zip(LRS, grads):
        ours.step(params, {n: v.copy() for n, v in g.items()}, lr)
        for group in reference.param_groups:
            group["lr"] = lr
        for n, t in tensors.items():
            t.grad = torch.tensor(g[n])
        reference.step()
        for n, t in tensors.items():
            np.testing.assert_allclose(params[n], t.detach().numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize(("name", "kw"), CASES)
def test_resume_from_saved_state_is_exact(name, kw, tmp_path):
    params, grads = _problem(1)
    resumed = {n: p.copy() for n, p in params.items()}
    straight = make_optimizer(name, **kw)
    for lr, g in zip(LRS, grads):
        straight.step(params, g, lr)
    first = make_optimizer(name, **kw)
    for lr, g in zip(LRS[:2], grads[:2]):
        first.step(resumed, g, lr)
    safetensors.numpy.save_file(first.state_dict(), tmp_path / "trainer.safetensors")
    second = make_optimizer(name, **kw)
    second.load_state_dict(safetensors.numpy.load_file(tmp_path / "trainer.safetensors"))
    for lr, g in zip(LRS[2:], grads[2:]):
        second.step(resumed, g, lr)
    for n in params:
        np.testing.assert_array_equal(resumed[n], params[n])


def test_float32_parameters_stay_float32():
    params = {"w": np.ones((2, 2), np.float32)}
    opt = make_optimizer("adam")
    opt.step(params, {"w": np.full((2, 2), 0.5, np.float32)}, 0.1)
    assert params["w"].dtype == np.float32 and opt.state_dict()["exp_avg.w"].dtype == np.float32
    np.testing.assert_allclose(params["w"], 0.9, rtol=1e-6)  # Adam's first step moves by lr


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(2)
    grads = {"a": rng.standard_normal((4, 5)) * 3, "b": rng.standard_normal(7)}
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.tensor(g)
    expected = torch.nn.utils.clip_grad_norm_(tensors, 2.0).item()
    assert clip_grad_norm(grads, 2.0) == pytest.approx(expected, rel=1e-12)
    for t, g in zip(tensors, grads.values()):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12)
    assert clip_grad_norm(grads, 0.0) == pytest.approx(2.0, rel=1e-5)  # 0 only measures


def test_clip_grad_value():
    grads = {"a": np.array([-3.0, 0.5, 2.0])}
    clip_grad_value(grads, 1.0)
    np.testing.assert_array_equal(grads["a"], [-1.0, 0.5, 1.0])


def test_unknown_state_entries_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        make_optimizer("sgd", momentum=0.9).load_state_dict({"exp_avg.w": np.zeros(2), "step": np.array(1)})
