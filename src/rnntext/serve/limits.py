"""The server's limits, declared once: what one request may ask for and how much work the
server takes on at once.

`Limits` is the one definition of every limit: its name (a field, a key of GET /v1/models'
`limits`, an argument of rnntext.serve.run), default, help text and check. `rnntext serve`'s
flags are generated from it (the name with dashes, less the `_s` of seconds). Importing this
module imports nothing of the server's, so the command line can build its flags cheaply.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rnntext.errors import ConfigError
from rnntext.options import above, at_least, check_fields, current_names, deprecation, flag, opt, renamed

WHOLE, SECONDS = at_least(1), above(0)


@dataclass(frozen=True)
class Limits:
    """What one request may ask for, and how much work the server takes on at once."""

    max_length: int = opt(2000, "most tokens per sample", check=WHOLE)
    max_samples: int = opt(16, "most samples (num_samples) per request", check=WHOLE)
    max_prime_chars: int = opt(10_000, "longest prime, in characters", check=WHOLE)
    max_top_probs: int = opt(100, "most tokens (top_probs) a next-token request may ask for", check=WHOLE,
                             was=("max_top",))
    max_stops: int = opt(16, "most stop strings per request", check=WHOLE)
    max_stop_chars: int = opt(1000, "most characters in a request's stop strings, all together", check=WHOLE)
    max_beam_stop_work: int = opt(512_000, "most beam x length x stop strings of one beam search (by default "
                                           "the product of the other limits: it bounds a search where they are "
                                           "raised)", check=WHOLE)
    request_timeout_s: float = opt(30.0, "seconds per request, queueing included", check=SECONDS,
                                   was=("time_limit_s",))
    max_batch: int = opt(64, "streams a model generates at once, in one stepping batch (a request takes num_samples "
                              "of them); requests beyond wait in the queue", check=WHOLE)
    exact_batching: bool = opt(False, "each request's text is bit for bit what it is alone, whatever runs beside it: "
                                      "the batch multiplies stream by stream (several times slower under load). "
                                      "By default one matrix product steps the whole batch, whose float32 rounding "
                                      "differs from a lone request's by about 1e-6 of a logit (docs/serving.md)")
    max_concurrent: int = opt(2, "primes and next-token lists computed at once, each in a thread beside the "
                                 "batches' own (the machine's cores are the real bound)", check=WHOLE)
    max_beams: int = opt(1, "beam searches run at once, each in a thread of its own (never in the threads of "
                            "primes, so that a long search delays no other request's start)", check=WHOLE)
    max_queue: int = opt(32, "requests waiting for room in a batch or for a thread; more get 503", check=WHOLE)
    header_timeout_s: float = opt(5.0, "seconds for a request's headers; an idle connection is closed after it",
                                  check=SECONDS)
    body_timeout_s: float = opt(10.0, "seconds for a request's body once its headers are in; slower gets 408",
                                check=SECONDS)

    def __post_init__(self):
        try:
            check_fields(self, typed=True)
        except ConfigError as e:
            name, _, rest = str(e).partition(": ")
            raise ConfigError(f"{name} ({flag(name)}): {rest}") from None

    @property
    def max_body_bytes(self) -> int:
        # A prime or stop character can take 12 bytes of JSON ("\ud83d\ude00"), a stop string 3 more
        # ("", ); the rest is small fields.
        return 12 * (self.max_prime_chars + self.max_stop_chars) + 3 * self.max_stops + 16_384

    @classmethod
    def of(cls, limits: Limits | dict | None) -> Limits:
        if isinstance(limits, Limits):
            return limits
        limits = current_names(dict(limits or {}), renamed(cls), deprecation("the server limit"))
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = set(limits) - set(names)
        if unknown:
            raise ConfigError(f"unknown server limit {sorted(unknown)[0]!r}: valid limits are {', '.join(names)}")
        return cls(**limits)
