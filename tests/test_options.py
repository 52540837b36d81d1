"""One definition per option: every face of a sampling option (flag, API argument, HTTP field,
chat setting, Rule) comes from rnntext.sampling.SampleConfig and is checked by it; the engine
and precision rules; the demo is its preset."""

import dataclasses

import pytest

import rnntext
from rnntext import options, sampling
from rnntext.cli import build_parser, main
from rnntext.config import TrainConfig, resolve
from rnntext.errors import ConfigError
from rnntext.generation.rules import Rule, Uniforms
from rnntext.sampling import SampleConfig, sampling_plan

FIELDS = {f.name: f for f in dataclasses.fields(SampleConfig)}


@pytest.mark.parametrize("name, value, says", [
    ("temperature", -0.5, "must be 0 or more"), ("temperature", float("nan"), "finite"),
    ("top_k", -1, "must be 0 or more"), ("top_k", 1.5, "whole number"), ("top_p", 0.0, "must be in (0, 1]"),
    ("top_p", 1.5, "must be in (0, 1]"), ("seed", -2, "0 or more"),
])
def test_a_rule_option_is_checked_once_with_one_message(name, value, says):
    messages = []
    for make in (lambda: SampleConfig(**{name: value}), lambda: Rule(**{name: value}) if name != "seed" else
                 Uniforms(value, 1)):
        with pytest.raises(ConfigError) as e:
            make()
        messages.append(str(e.value))
    assert messages[0] == messages[1] and messages[0].startswith(f"{name}: ") and says in messages[0]


@pytest.mark.parametrize("value", ["ignore", "replace:", "replace", "", "Skip"])
def test_unknown_is_checked_one_way(value):
    with pytest.raises(ConfigError, match="unknown: must be error, skip, or replace:C"):
        SampleConfig(unknown=value)
    with pytest.raises(ConfigError, match="unknown: must be error, skip, or replace:C"):
        sampling.check_unknown(value)


def test_eval_and_encode_refuse_a_bad_unknown(tmp_path, corpus, capsys):
    run = tmp_path / "run"
    rnntext.train(corpus, run, max_iters=2, num_layers=1, hidden_size=(8,), embed_size=4, seq_len=8, batch_size=2,
                  sample_every=0, quiet=True)
    with pytest.raises(ConfigError, match="unknown: must be"):
        rnntext.load(run).encode("the Zebra", "ignore")  # an IndexError once
    assert main(["eval", str(run), str(corpus), "--unknown", "ignore"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnntext eval: error: unknown: must be error, skip, or replace:C") and "\n" not in err


def test_shared_options_have_one_definition():
    train = {f.name: f for f in dataclasses.fields(TrainConfig)}
    for name in ("engine", "device", "precision"):
        assert train[name].default == FIELDS[name].default == "auto"
        assert train[name].metadata == FIELDS[name].metadata
    assert Rule() == Rule(SampleConfig.temperature, SampleConfig.top_k, SampleConfig.top_p, SampleConfig.greedy)
    assert FIELDS["precision"].metadata["choices"] == ("auto", "float32", "bfloat16", "float16")


def plan(labelled=False, **options):
    return sampling_plan(SampleConfig(**options), labelled)


# Given speeds (chars/s by streams) for the two classes of CPU: the rule must pick the fastest.
GIVEN = {True: {1: {("numpy", "float32"): 15_000, ("torch", "float32"): 3_000, ("torch", "bfloat16"): 2_500},
                64: {("numpy", "float32"): 90_000, ("torch", "float32"): 100_000, ("torch", "bfloat16"): 150_000}},
         False: {1: {("numpy", "float32"): 10_000, ("torch", "float32"): 2_000},
                 64: {("numpy", "float32"): 60_000, ("torch", "float32"): 50_000}}}


def test_auto_samples_on_the_fastest_path_measured_for_the_cpu_and_the_work(monkeypatch):
    from rnntext import hardware

    monkeypatch.setattr(options, "cuda_present", lambda: False)
    monkeypatch.setattr(options, "torch_installed", lambda: True)
    monkeypatch.setattr(options, "SAMPLING_SPEEDS", GIVEN)
    for bf16, many in ((True, ("torch", "bfloat16")), (False, ("numpy", "float32"))):
        monkeypatch.setattr(hardware, "native_bf16", lambda bf16=bf16: bf16)
        assert plan(length=10_000) == plan(num_samples=63, length=10_000) == ("numpy", "float32")
        assert plan(num_samples=64, length=10_000) == plan(num_samples=1000, length=10_000) == many
    monkeypatch.setattr(hardware, "native_bf16", lambda: True)
    # torch's start-up counts: 64 x 100 tokens take 0.07 s on numpy, 1.04 s on torch
    assert plan(num_samples=64, length=100) == ("numpy", "float32")
    assert plan(num_samples=256, length=10_000, precision="float32") == ("torch", "float32")  # fastest in float32
    assert plan(num_samples=256, length=10_000, engine="numpy") == ("numpy", "float32")
    assert plan(num_samples=256, length=10_000, engine="torch") == ("torch", "float32")  # an engine asked for
    assert plan(num_samples=256, length=10_000, labelled=True) == ("numpy", "float32")  # labels: numpy's
    assert options.fastest_sampling(GIVEN[True], 0) == ("numpy", "float32")  # below every count: the smallest
    assert options.fastest_sampling(GIVEN[True], 64, 10_000, lambda p: p[0] == "numpy") == ("numpy", "float32")
    monkeypatch.setattr(options, "torch_installed", lambda: False)
    assert plan(num_samples=1000, length=10_000) == ("numpy", "float32")  # without torch: numpy
    monkeypatch.setattr(hardware, "native_bf16", lambda: pytest.fail("a few streams asked the hardware"))
    assert plan(num_samples=8, length=10_000) == ("numpy", "float32")  # numpy in every class: no torch import


def test_the_measured_speeds_keep_one_stream_on_numpy_and_many_on_bf16_where_native():
    for table in options.SAMPLING_SPEEDS.values():
        assert options.fastest_sampling(table, 1, 50_000) == ("numpy", "float32")
    assert options.fastest_sampling(options.SAMPLING_SPEEDS[True], 256, 2000) == ("torch", "bfloat16")
    assert options.fastest_sampling(options.SAMPLING_SPEEDS[False], 256, 2000) == ("numpy", "float32")


def test_the_sampling_engine_rule(monkeypatch):
    monkeypatch.setattr(options, "cuda_present", lambda: False)
    monkeypatch.setattr(options, "SAMPLING_SPEEDS", GIVEN)
    monkeypatch.setattr(options, "torch_installed", lambda: True)
    assert plan() == ("numpy", "float32")  # no CUDA, one stream: numpy
    assert plan(device="cuda") == ("torch", "float32")
    assert plan(precision="bfloat16") == ("torch", "bfloat16")
    assert plan(engine="torch") == ("torch", "float32")  # precision auto samples in float32 everywhere
    monkeypatch.setattr(options, "cuda_present", lambda: True)
    assert plan(num_samples=options.TORCH_STREAMS - 1) == ("numpy", "float32")  # few streams: numpy
    assert plan(num_samples=options.TORCH_STREAMS) == ("torch", "float32")  # a batch on a GPU: torch
    monkeypatch.setattr("rnntext.hardware.native_bf16", lambda: False)
    assert plan(num_samples=1000, device="cpu") == ("numpy", "float32")  # on the CPU, GIVEN's fastest
    assert plan(labelled=True, num_samples=1000) == ("numpy", "float32")  # labels: the numpy engine's
    with pytest.raises(ConfigError, match="precision: the numpy engine computes in float32"):
        plan(engine="numpy", precision="float16")
    with pytest.raises(ConfigError, match="device: the numpy engine runs on the CPU"):
        plan(engine="numpy", device="cuda")


def test_the_http_fields_are_sampleconfigs():
    pytest.importorskip("pydantic")
    from rnntext.serve.schemas import GENERATE, NEXT, GenerateRequest, NextRequest

    for model, names in ((GenerateRequest, GENERATE), (NextRequest, NEXT)):
        assert set(names) <= set(FIELDS) and set(model.model_fields) == {"model", *names}
        for name in names:
            assert model.model_fields[name].description.startswith(FIELDS[name].metadata["help"])


def test_the_demo_is_its_preset(tmp_path, corpus, capsys, monkeypatch):
    assert build_parser().parse_args(["demo"]).time_limit == resolve("demo").train.time_limit == 60.0
    real, seen = rnntext.api.train, {}

    def small(inputs, output, **options):  # the demo's own call, on a small text for a few iterations
        seen.update(inputs=inputs, **options)
        return real(corpus, output, max_iters=4, num_layers=1, hidden_size=(16,), embed_size=8, seq_len=16,
                    batch_size=4, **options)

    monkeypatch.setattr(rnntext.api, "train", small)
    assert main(["demo", "--time-limit", "30", "-o", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert (seen["inputs"], seen["preset"], seen["time_limit"]) == ("python-docs", "demo", 30.0)
    assert out.startswith("training a 2-layer LSTM on the built-in python-docs corpus for 30 s")
    model = rnntext.load(tmp_path / "demo")
    for temperature in resolve("demo").train.sample_temperatures:
        text = model.generate("def ", length=300, seed=1, unknown="skip", temperature=temperature)
        assert f"--- temperature {temperature} ---\ndef {text}\n" in out


def test_sampling_one_stream_or_a_few_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys; from rnntext.sampling import SampleConfig, sampling_plan\n"
            "assert sampling_plan(SampleConfig(length=50_000), False) == ('numpy', 'float32')\n"
            "assert sampling_plan(SampleConfig(num_samples=4), False) == ('numpy', 'float32')\n"
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
