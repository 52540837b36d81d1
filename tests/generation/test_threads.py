"""The thread count a generation loop steps on: chosen by timing its own steps, never at the
cost of the text (rnntext.generation.threads)."""

import threading

import numpy as np
import pytest

from rnntext import blas
from rnntext.config import ModelConfig
from rnntext.generation import threads
from rnntext.generation.rules import Rule
from rnntext.generation.runtime import Runtime, generate
from rnntext.generation.threads import RETRY_S, Pacer, paced


class Fake:
    """Streams whose step costs cost[count] seconds of its own clock; with `differ` the numbers
    depend on the count, as a product split by thread count may round differently."""

    def __init__(self, cost: dict, counts=(2, 1), differ: bool = False):
        self.cost, self.counts, self.differ = dict(cost), list(counts), differ
        self.count, self.now, self.state, self.used = (counts or (1,))[0], 0.0, np.zeros(3), []

    def clock(self) -> float:
        return self.now

    def thread_counts(self):
        return list(self.counts)

    def use_threads(self, n):
        self.count = n
        self.used.append(n)

    def snapshot(self):
        return [self.state.copy()]

    def restore(self, saved):
        self.state[...] = saved[0]

    def step(self, x):
        self.now += self.cost[self.count]
        self.state += x + (self.count * 1e-3 if self.differ else 0.0)


def run(fake: Fake, seconds: float) -> Pacer:
    pacer = Pacer(fake, fake.step, fake.counts, clock=fake.clock)
    while fake.now < seconds:
        pacer(1.0)
    return pacer


def test_beside_a_busy_core_one_thread_is_kept_and_tried_again_ever_less_often():
    fake = Fake({2: 3e-4, 1: 1.5e-4})  # two threads wait for the one that shares its core
    pacer = run(fake, 0.3)
    assert pacer.choices == [1] and fake.count == 1
    while fake.now < 10.0:
        pacer(1.0)
    # tried again after 0.5, 1, 2 and 4 s (each trial about 0.1 s), one thread kept each time
    assert pacer.choices == [1] * 5 and pacer.retry == 8.0
    fake.cost[2] = 1e-4   # the other process has ended
    while fake.now < 20.0:
        pacer(1.0)
    assert pacer.choices[-1] == 2 and fake.count == 2 and pacer.retry == threads.RETRY_S
    fake.cost[2] = 3e-4
    while fake.now < 21.0:
        pacer(1.0)
    assert pacer.choices[-1] == 1  # a collapse of the full count: a trial at once
    pacer.close()
    assert fake.count == 2  # the full count once the loop ends


def test_a_slow_first_window_of_the_full_count_does_not_hand_the_run_to_one_thread():
    fake = Fake({2: 1e-4, 1: 1.8e-4})
    real_step = fake.step

    def step(x):  # the first 300 steps on the full count are slow (a core waking, a thread placed)
        real_step(x)
        if fake.count == 2 and len(fake.used) == 0:
            fake.now += 2e-4
    pacer = Pacer(fake, step, fake.counts, clock=fake.clock)
    while fake.now < 1.0:
        pacer(1.0)
    assert pacer.choices == [2] and fake.count == 2


def test_on_an_idle_machine_the_full_count_stays_without_another_trial():
    fake = Fake({2: 1e-4, 1: 1.8e-4})
    pacer = run(fake, 5 * RETRY_S)
    assert pacer.choices == [2] and fake.count == 2
    assert fake.used == [1, 2, 1, 2]  # one trial (its first step on both counts), then back


def test_a_collapse_of_the_full_count_starts_a_trial():
    fake = Fake({2: 1e-4, 1: 1.8e-4})
    pacer = run(fake, 1.0)
    assert pacer.choices == [2]
    fake.cost[2] = 6e-4  # another process starts
    while fake.now < 1.45:  # a window of its steps, then a trial
        pacer(1.0)
    assert pacer.choices == [2, 1] and fake.count == 1


def test_where_the_counts_compute_different_numbers_the_full_count_stays():
    fake, alone = Fake({2: 3e-4, 1: 1e-4}, differ=True), Fake({2: 3e-4, 1: 1e-4}, differ=True)
    pacer = Pacer(fake, fake.step, fake.counts, clock=fake.clock)
    for _ in range(5000):
        pacer(1.0)
        alone.step(1.0)
    assert pacer.choices == [2] and fake.count == 2 and fake.used == [1, 2, 1, 2]  # checked once, then left
    np.testing.assert_array_equal(fake.state, alone.state)  # the full count's numbers, every step
    assert pacer.due == float("inf")  # the clock is not read again


def test_no_choice_and_other_threads_leave_the_step_alone():
    fake = Fake({1: 1e-4}, counts=())
    assert paced(fake, fake.step)[0] == fake.step  # the bound method itself, unwrapped
    two, got = Fake({2: 1e-4, 1: 1e-4}), []
    assert isinstance(paced(two, two.step)[0], Pacer)  # the main thread chooses
    worker = threading.Thread(target=lambda: got.append(paced(two, two.step)[0]))
    worker.start()
    worker.join()
    assert got == [two.step]  # the counts are the process's: another thread leaves them


def counting(monkeypatch, streams_cls, set_name):
    """Each count a real Streams is set to, and a clock under which one thread steps twice as
    fast (so that the trial switches), whatever this machine's speed."""
    calls, now = [], [0.0]
    real = getattr(streams_cls, set_name)

    def use(self, n):
        calls.append(n)
        real(self, n)

    def fake_clock():
        now[0] += 1e-3 if calls and calls[-1] == 1 else 2e-3
        return now[0]
    monkeypatch.setattr(streams_cls, set_name, use)
    monkeypatch.setattr(threads, "clock", fake_clock)
    return calls


@pytest.mark.parametrize("B", [1, 5])
def test_numpy_streams_switch_only_where_the_text_stays_the_same(monkeypatch, B):
    from rnntext.generation.runtime import Streams

    cfg = ModelConfig(cell="lstm", num_layers=2, hidden_size=(96,), embed_size=8)
    weights = _weights(cfg, 11)
    runtime = Runtime(cfg, 11, weights)
    plain = runtime.streams(B)
    plain.prime([1, 2, 3])
    monkeypatch.setattr(Streams, "thread_counts", lambda self: [])
    expected = np.stack(list(generate(plain, 600, Rule(temperature=0.9), seed=5)))
    monkeypatch.undo()
    full = blas.threads()
    calls = counting(monkeypatch, Streams, "use_threads")
    paced_run = runtime.streams(B)
    paced_run.prime([1, 2, 3])
    got = np.stack(list(generate(paced_run, 600, Rule(temperature=0.9), seed=5)))
    np.testing.assert_array_equal(got, expected)  # the same text whatever the count
    assert blas.threads() == full                   # the full count back at the end
    if full == 1:
        assert calls == []                          # nothing to choose on one thread
    elif B == 1:
        assert 1 in calls and calls[-1] == full     # one stream's products: switched, then back
    else:
        assert set(calls) <= {1, full}              # several: switched only if the check agreed


def _weights(cfg, V):
    import torch

    from rnntext.engines.torch.module import RNNLM

    torch.manual_seed(0)
    return {k: v.numpy().copy() for k, v in RNNLM(cfg, V).weights().items()}


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_torch_streams_switch_and_keep_the_text(monkeypatch, precision):
    torch = pytest.importorskip("torch")
    from rnntext.engines.torch.streams import TorchStreams

    cfg = ModelConfig(cell="lstm", num_layers=2, hidden_size=(96,), embed_size=8)
    weights = _weights(cfg, 11)

    def texts(pacing: bool):
        streams = TorchStreams(cfg, 11, weights, 48, "cpu", precision)
        if not pacing:
            monkeypatch.setattr(TorchStreams, "thread_counts", lambda self: [])
        streams.prime([1, 2, 3])
        out = np.stack(list(streams.generate(500, Rule(temperature=0.9), seed=5)))
        monkeypatch.undo()
        return out

    expected = texts(False)
    full = torch.get_num_threads()
    calls = counting(monkeypatch, TorchStreams, "use_threads")
    got = texts(True)
    np.testing.assert_array_equal(got, expected)
    assert torch.get_num_threads() == full
    assert (1 in calls and calls[-1] == full) if full > 1 else calls == []
