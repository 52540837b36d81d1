"""A tiny trained model shared by the server tests (training it takes a few seconds)."""

import time

import pytest

from rnntext.api import Model

TEXT = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine!\n" * 120


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    import rnntext

    root = tmp_path_factory.mktemp("serve")
    corpus = root / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    run = root / "tiny"
    rnntext.train(corpus, run, max_iters=30, num_layers=1, hidden_size=(32,), embed_size=16, seq_len=16,
                  batch_size=4, sample_every=0, quiet=True)
    return run


class SlowModel(Model):
    """A model whose every generated token takes `delay` seconds: for time limits and queues."""

    delay = 0.01

    def stream_ids(self, prime="", **options):
        for step in super().stream_ids(prime, **options):
            time.sleep(self.delay)
            yield step


@pytest.fixture(scope="session")
def slow_model(tiny_run):
    from rnntext.api import load

    model = load(tiny_run)
    return SlowModel(model.info, model.weights)


class CountingModel(SlowModel):
    """A SlowModel that counts the tokens it has generated: shows when a generation really stops."""

    generated = 0

    def stream_ids(self, prime="", **options):
        for step in super().stream_ids(prime, **options):
            self.generated += 1
            yield step


@pytest.fixture
def counting_model(tiny_run):
    from rnntext.api import load

    model = load(tiny_run)
    return CountingModel(model.info, model.weights)
