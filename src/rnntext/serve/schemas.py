"""The server's limits and the shapes of its JSON requests.

Pydantic checks types and ranges that never change; the limits below are the server's own
(set at start), so they are checked by the route handlers, which name the limit that was hit.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from rnntext.errors import ConfigError

DEFAULT_LENGTH = 200
UNKNOWN = r"^(error|skip|replace:.+)$"  # SampleConfig.unknown's values


@dataclass(frozen=True)
class Limits:
    """What one request may ask for, and how much work the server takes on at once."""

    max_length: int = 2000          # tokens generated per sample
    max_samples: int = 16           # num_samples per request
    max_prime_chars: int = 10_000   # characters of prime text
    max_top: int = 100              # k of the next-token endpoint
    time_limit_s: float = 30.0      # per request, queueing included
    max_concurrent: int = 2         # generations running at once (the machine's cores are the real bound)
    max_queue: int = 32             # requests waiting for a slot; more get 503
    header_timeout_s: float = 5.0   # a connection's request line and headers (an idle one is closed)
    body_timeout_s: float = 10.0    # a request's whole body, once its headers are in; slower gets 408

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value, whole = getattr(self, f.name), f.type == "int"
            kind = (int,) if whole else (int, float)
            if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value) or value <= 0:
                what = "a whole number, at least 1" if whole else "a finite number of seconds above 0"
                flag = f.name.removesuffix("_s").replace("_", "-")
                raise ConfigError(f"{f.name} (--{flag}): must be {what}, not {value!r}")

    @property
    def max_body_bytes(self) -> int:
        # A prime character can take 12 bytes of JSON ("\ud83d\ude00"); the rest is small fields.
        return 12 * self.max_prime_chars + 16_384

    @classmethod
    def of(cls, limits: Limits | dict | None) -> Limits:
        if isinstance(limits, Limits):
            return limits
        unknown = set(limits or {}) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown server limit {sorted(unknown)[0]!r}: valid limits are "
                              f"{', '.join(f.name for f in dataclasses.fields(cls))}")
        return cls(**(limits or {}))


class LimitError(Exception):
    """A request over one of the server's limits; `limit` names it."""

    def __init__(self, status: int, limit: str, message: str):
        super().__init__(message)
        self.status, self.limit = status, limit


def api_wording(message: str) -> str:
    """A user error's message for the API: its CLI flags (--top-k 5) become JSON keys (top_k=5).

    One name per concept, so the flag's advice holds for the key of the same name.
    """
    return re.sub(r"--([a-z][a-z-]*)[ =]", lambda m: m.group(1).replace("-", "_") + "=", message)


def valid_unicode(text: str) -> str:
    """Refuse a lone surrogate (JSON can carry one as "\\ud800"): it is no character, and no model has it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"not valid Unicode: a lone surrogate (U+{ord(text[e.start]):04X}) at index {e.start}; "
                         f"escape a character above U+FFFF as a whole pair") from None
    return text


Text = Annotated[str, AfterValidator(valid_unicode)]


class NextRequest(BaseModel):
    """The k most likely tokens after `prime`."""

    model_config = ConfigDict(extra="forbid")

    model: Text = Field(max_length=256, description="a model name from GET /v1/models")
    prime: Text = Field("", description="text the model reads first ('' starts from a line end)")
    k: int = Field(10, ge=1, description="how many tokens")
    unknown: Text = Field("error", max_length=64, pattern=UNKNOWN, description="prime symbols outside the "
                                                                              "vocabulary: error, skip, or replace:C")


class GenerateRequest(BaseModel):
    """Sampling options; the names are the CLI's and SampleConfig's."""

    model_config = ConfigDict(extra="forbid")

    model: Text = Field(max_length=256, description="a model name from GET /v1/models")
    prime: Text = Field("", description="text the model reads first ('' starts from a line end)")
    length: int | None = Field(None, ge=0, description=f"tokens to generate per sample (none: {DEFAULT_LENGTH}, "
                                                       f"or the server's max_length if lower)")
    temperature: float = Field(1.0, ge=0, allow_inf_nan=False, description="0 means greedy")
    top_k: int = Field(0, ge=0, description="sample among the K most likely tokens (0: all)")
    top_p: float = Field(1.0, gt=0, le=1, description="nucleus sampling mass (1: off)")
    seed: int | None = Field(None, ge=0, lt=2**63, description="random seed; none picks one (returned)")
    num_samples: int = Field(1, ge=1, description="independent samples")
    stop_at_eos: bool = Field(True, description="line-mode models: stop a sample at the end token")
    unknown: Text = Field("error", max_length=64, pattern=UNKNOWN, description="prime symbols outside the "
                                                                              "vocabulary: error, skip, or replace:C")


def check_prime(prime: str, limits: Limits) -> None:
    if len(prime) > limits.max_prime_chars:
        raise LimitError(413, "max_prime_chars", f"prime has {len(prime)} characters; this server takes at most "
                                                 f"{limits.max_prime_chars} (max_prime_chars)")


def check_generate(req: GenerateRequest, limits: Limits) -> None:
    """Raise LimitError if the request is over a limit; fill in a length it left out."""
    check_prime(req.prime, limits)
    if req.length is None:
        req.length = min(DEFAULT_LENGTH, limits.max_length)
    if req.length > limits.max_length:
        raise LimitError(422, "max_length", f"length {req.length} is over this server's limit of "
                                            f"{limits.max_length} tokens (max_length)")
    if req.num_samples > limits.max_samples:
        raise LimitError(422, "max_samples", f"num_samples {req.num_samples} is over this server's limit of "
                                             f"{limits.max_samples} (max_samples)")


def check_next(req: NextRequest, limits: Limits) -> None:
    check_prime(req.prime, limits)
    if req.k > limits.max_top:
        raise LimitError(422, "max_top", f"k {req.k} is over this server's limit of {limits.max_top} (max_top)")
