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
    """A model whose every step of generation takes `delay` seconds: for time limits and queues.

    Its streams, and so the server's batches made of the same kind of streams, sleep in `step`
    and count the steps they take in `generated`.
    """

    delay = 0.01
    generated = 0

    def _open_streams(self, *args, **kwargs):  # what `streams` and `steps` (a beam search too) make their streams with
        streams = Model._open_streams(*args, **kwargs)
        model = self

        class Slow(type(streams)):
            def step(self, ids):
                time.sleep(model.delay)
                model.generated += 1
                return super().step(ids)

        streams.__class__ = Slow
        return streams


@pytest.fixture(scope="session")
def slow_model(tiny_run):
    from rnntext.api import load

    model = load(tiny_run)
    return SlowModel(model.info, model.weights)


@pytest.fixture
def counting_model(tiny_run):
    """A SlowModel of its own, whose `generated` shows when a generation really stops."""
    from rnntext.api import load

    model = load(tiny_run)
    return SlowModel(model.info, model.weights)


@pytest.fixture(scope="session")
def line_run(tmp_path_factory):
    """A tiny line-mode model (its samples end at an end token)."""
    import rnntext

    root = tmp_path_factory.mktemp("lines")
    corpus = root / "lines.txt"
    corpus.write_text("a cat sat\nthe dog ran\n" * 150, encoding="utf-8")
    rnntext.train(corpus, root / "lines", max_iters=60, num_layers=1, hidden_size=(32,), embed_size=16,
                  seq_len=16, batch_size=8, sample_every=0, quiet=True, lines=True, lr=0.02)
    return root / "lines"


@pytest.fixture
def slowed():
    """SlowModel of a run directory: a fresh one, whose `generated` starts at 0."""
    from rnntext.api import load

    def make(run, delay=0.01):
        model = load(run)
        slow = SlowModel(model.info, model.weights)
        slow.delay = delay
        return slow

    return make
