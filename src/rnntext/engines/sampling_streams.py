"""The streams a sampling call runs on: the NumPy stepping runtime (rnntext.generation.runtime)
or torch's batched sampler (rnntext.engines.torch.streams), as the sampling options' plan
chooses (rnntext.sampling.sampling_plan). Torch is imported only when it is chosen."""

from __future__ import annotations

from rnntext.errors import ConfigError
from rnntext.faces import ask
from rnntext.sampling import SampleConfig, sampling_plan


def open_streams(cfg: SampleConfig, width: int, label: int | None, model_cfg, vocab_size: int, weights: dict,
                 runtimes: dict):
    """`width` streams of the model (`model_cfg`, its vocabulary size and weights) on the engine
    `cfg` plans, conditioned on `label`; `runtimes` keeps the NumPy runtime of each label, whose
    packed weights later calls reuse."""
    engine, precision = sampling_plan(cfg, label is not None)
    if engine == "torch":
        if label is not None:
            raise ConfigError(f"condition: {ask('engine', 'torch')} samples models without labels; use the numpy engine")
        from rnntext.engines.torch.streams import TorchStreams

        return TorchStreams(model_cfg, vocab_size, weights, width, cfg.device, precision)
    from rnntext.generation.runtime import Runtime

    if label not in runtimes:
        runtimes[label] = Runtime(model_cfg, vocab_size, weights, label)
    return runtimes[label].streams(width)
