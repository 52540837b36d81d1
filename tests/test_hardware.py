"""The hardware facts the project asks, and their override for running as another machine."""

import pytest

from rnntext import hardware


def test_the_override_replaces_the_detected_features(monkeypatch):
    monkeypatch.setenv(hardware.ENV_FEATURES, "avx2, FMA")
    assert hardware.cpu_features() == {"avx2", "fma"}
    assert not hardware.native_bf16()  # a plain AVX2 CPU has no native bf16, whatever oneDNN says
    monkeypatch.setenv(hardware.ENV_FEATURES, "")
    assert hardware.cpu_features() == frozenset()


def test_the_machine_line_names_cpu_features_threads_and_torch(monkeypatch):
    monkeypatch.setenv(hardware.ENV_FEATURES, "avx2,avx512f,amx_bf16,sse4_2")
    line = hardware.describe()
    assert line["features"] == ["avx2", "avx512f", "amx_bf16"]  # only the ones that decide speed
    assert line["threads"] >= 1 and line["cpu"] and line["torch"].startswith("2.")
    assert line[hardware.ENV_FEATURES] == "avx2,avx512f,amx_bf16,sse4_2"


def test_precision_auto_follows_the_features(monkeypatch):
    import torch

    from rnntext.engines.torch.engine import autocast_dtype
    from rnntext.errors import ConfigError

    monkeypatch.setenv(hardware.ENV_FEATURES, "avx2")
    cpu = torch.device("cpu")
    assert autocast_dtype("auto", cpu) is None
    with pytest.raises(ConfigError, match="native bf16"):
        autocast_dtype("bfloat16", cpu)
