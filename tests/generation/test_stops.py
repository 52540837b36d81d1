"""The stop-string automaton against the plain rule it replaces, on random strings: the same
first stop, the same text held back, piece by piece as whole; and its cost follows the text."""

import copy
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from rnntext.generation.stops import StopIndex, StopText, cut


def naive_stop(text, stops):
    """The plain rule: of the stop strings found, the one complete first, then the one starting
    first, as (where it ends, where it begins); None if there is none."""
    best = None
    for s in stops:
        i = text.find(s)
        if i >= 0 and (best is None or (i + len(s), i) < best):
            best = (i + len(s), i)
    return best


def naive_held(text, stops):
    """The longest end of `text` that is a proper prefix of a stop string."""
    return max((k for s in stops for k in range(1, min(len(s) - 1, len(text)) + 1) if text.endswith(s[:k])), default=0)


def naive_cut(text, stops, partial=False):
    best = naive_stop(text, stops)
    if best is not None:
        return text[:best[1]]
    return text[:len(text) - naive_held(text, stops)] if partial else text


TEXT = st.text(alphabet="ab\n", max_size=40)
STOPS = st.lists(st.text(alphabet="ab\n", min_size=1, max_size=5), min_size=1, max_size=8)


def found(index, state, end):
    """What StopIndex.scan says it found, as naive_stop words it."""
    return None if end < 0 else (end, end - index.ends[state])


def scanned(index, text, at):
    """StopIndex.scan over `text` in two reads, split at `at` (the second from the first's state)."""
    state, end = index.scan(0, text[:at])
    if end >= 0:
        return state, end
    state, end = index.scan(state, text[at:])
    return state, end if end < 0 else at + end


@settings(max_examples=400, deadline=None)
@given(TEXT, STOPS, st.integers(0, 40), st.booleans())
def test_the_automaton_finds_what_the_plain_rule_finds(text, stops, at, partial):
    index, best = StopIndex.of(tuple(stops)), naive_stop(text, stops)
    state, end = scanned(index, text, min(at, len(text)))
    assert found(index, state, end) == best
    if best is None:  # no stop string: the state's depth is the tail to hold back
        assert index.depth[state] == naive_held(text, stops)
    assert cut(text, stops, partial) == naive_cut(text, stops, partial)


def test_random_strings_of_a_larger_alphabet_agree_too():
    rng = random.Random(1)
    for _ in range(3000):
        alphabet = "abcé\n"[:rng.randint(1, 5)]
        stops = ["".join(rng.choices(alphabet, k=rng.randint(1, 6))) for _ in range(rng.randint(1, 12))]
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 60)))
        shown = StopText(stops)
        cuts = sorted(rng.sample(range(len(text) + 1), min(len(text) + 1, 4)))
        pieces = [shown.feed(text[a:b]) for a, b in zip([0, *cuts], [*cuts, len(text)])]
        assert "".join(pieces) + shown.flush() == naive_cut(text, stops), (text, stops)
        index = StopIndex.of(tuple(stops))
        assert found(index, *index.scan(0, text)) == naive_stop(text, stops), (text, stops)


class Counted(list):
    """A list that counts its reads: the automaton's fail links, followed while it reads."""

    reads = 0

    def __getitem__(self, i):
        Counted.reads += 1
        return super().__getitem__(i)


def test_a_check_costs_the_new_text_not_the_number_of_strings():
    rng = random.Random(2)
    letters = "abcdefghijklmnopqrstuvwxyz "
    text = "".join(rng.choices(letters, k=20_000))
    for count in (10, 5000):  # the plain rule: count x more work for the second
        stops = tuple("".join(rng.choices(letters, k=12)) for _ in range(count))
        index = StopIndex(stops)
        index.fail = Counted(index.fail)
        Counted.reads, state = 0, 0
        for ch in text:  # a character at a time, as a stream's text arrives
            state, end = index.scan(state, ch)
            state = 0 if end >= 0 else state
        assert Counted.reads <= len(text), (count, Counted.reads)  # fewer fail links than characters read


def test_the_automaton_is_shared_and_copies_are_cheap():
    stops = ("ab", "b\n")
    assert StopIndex.of(stops) is StopIndex.of(tuple(stops))
    one = StopText(stops)
    assert one.feed("xa") == "x"  # "a" may begin "ab": held back
    two = copy.deepcopy(one)
    assert two.index is one.index
    assert two.feed("b") == "" and two.stopped
    assert one.feed("c") == "ac" and not one.stopped
