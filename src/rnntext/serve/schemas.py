"""The shapes of the server's JSON requests, generated from the sampling options.

Each request field of a sampling option is made from rnntext.sampling.SampleConfig's field:
the same name, type and help text. A field left out takes the run's `[sample]` setting, else
SampleConfig's default, exactly as `rnntext sample` does (so a request alone and the command
give the same text; rnntext.serve.batching says what a batch changes); a `seed` left out is drawn fresh (rnntext.sampling.with_seed), and the reply
returns it. Values are checked by SampleConfig itself (a 422 naming the field).
Pydantic checks only types here; the server's own limits (rnntext.serve.limits.Limits, set
at start) are checked by the route handlers, which name the limit that was hit.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator

from rnntext.errors import ConfigError, RnntextError
from rnntext.faces import ask
from rnntext.options import current_names, renamed, utf8_problem
from rnntext.sampling import TOP_PROBS_NEXT, SampleConfig
from rnntext.serve.limits import Limits

log = logging.getLogger(__name__)

GENERATE = ("prime", "length", "temperature", "top_k", "top_p", "greedy", "num_samples", "seed", "unknown",
            "stop_at_end", "beam", "repetition_penalty", "stop")
NEXT = ("prime", "top_probs", "unknown")


class LimitError(Exception):
    """A request over one of the server's limits; `limit` names it."""

    def __init__(self, status: int, limit: str, message: str):
        super().__init__(message)
        self.status, self.limit = status, limit


def api_wording(error: Exception) -> str:
    """A user error's message for the API: the options it names are JSON fields ("top_k": 5),
    as rnntext.faces words them."""
    return error.said("json") if isinstance(error, RnntextError) else str(error)


def valid_unicode(text: str) -> str:
    """Refuse a lone surrogate (JSON can carry one as "\\ud800"): it is no character, and no model has it."""
    if bad := utf8_problem(text):
        raise ValueError(f"not valid Unicode: {bad}; escape a character above U+FFFF as a whole pair")
    return text


Text = Annotated[str, AfterValidator(valid_unicode)]


class Request(BaseModel):
    """What every request has: a model name (which may be left out where one model is served);
    unknown fields are refused, renamed ones renamed."""

    model_config = ConfigDict(extra="forbid")

    model: Text | None = Field(None, max_length=256, description="a model name from GET /v1/models (left out: "
                                                                 "the server's one model)")

    @model_validator(mode="before")
    @classmethod
    def old_names_taken(cls, data: Any) -> Any:
        """A sampling option's old name (rnntext.options: opt's `was`) taken, and logged."""
        if not isinstance(data, dict):
            return data
        renames = {old: new for old, new in renamed(SampleConfig).items() if new in cls.model_fields}
        return current_names(data, renames, lambda old, new: log.warning(
            "a request used the old field %r: it is now %r", old, new))

    def choose_model(self, names) -> str:
        """The name of the model this request asks for: its `model`, else the one model served
        (filled in, so that the reply names it); with several served, an error listing them."""
        if self.model is None:
            names = list(names)
            if len(names) != 1:
                raise ConfigError(f"model: this server serves {len(names)} models, so a request names one: "
                                  f"{ask('model', fill='NAME')}, one of {', '.join(map(json.dumps, names))} "
                                  f"(GET /v1/models)")
            self.model = names[0]
        return self.model

    def options(self) -> dict:
        """The sampling options the request gave (fields left out are not included)."""
        return {k: v for k, v in self.model_dump(exclude={"model"}).items() if v is not None}


def sample_fields(names: tuple[str, ...], defaults: dict | None = None) -> dict:
    """Pydantic fields for SampleConfig's fields `names`: its type and help; left out, None."""
    out = {}
    for f in dataclasses.fields(SampleConfig):
        if f.name in names:
            kind = type(f.default)
            if isinstance(f.default, str):
                kind = Text
            elif f.metadata.get("repeat"):  # a list of texts, or one text
                kind = list[Text] | Text
            default = (defaults or {}).get(f.name)
            shown = repr(default) if default is not None else f"the run's [sample] {f.name}, else {f.default!r}"
            out[f.name] = (kind | None, Field(default, description=f"{f.metadata['help']} (default: {shown})"))
    return out


GenerateRequest = create_model("GenerateRequest", __base__=Request, __doc__="Samples after a prime.",
                               **sample_fields(GENERATE))
NextRequest = create_model("NextRequest", __base__=Request, __doc__="The most likely tokens after a prime.",
                           **sample_fields(NEXT, {"prime": "", "top_probs": TOP_PROBS_NEXT}))


class NextQuery(NextRequest):
    """NextRequest in a URL's query, where other parameters (a cache buster) are left alone."""

    model_config = ConfigDict(extra="ignore")


def check_prime(prime: str, limits: Limits) -> None:
    if len(prime) > limits.max_prime_chars:
        raise LimitError(413, "max_prime_chars", f"prime has {len(prime)} characters; this server takes at most "
                                                 f"{limits.max_prime_chars} (max_prime_chars)")


def check_generate(cfg: SampleConfig, limits: Limits) -> None:
    """Raise LimitError if the sampling options are over a limit."""
    check_prime(cfg.prime, limits)
    _at_most("length", cfg.length, "max_length", limits, unit=" tokens")
    _at_most("num_samples", cfg.num_samples, "max_samples", limits)
    _at_most("beam", cfg.beam, "max_samples", limits, unit=" streams")  # a beam is a stream, as a sample is
    _at_most("num_samples", cfg.num_samples, "max_batch", limits, "batch of", " streams")  # one batch per request
    check_stops(cfg, limits)


def check_stops(cfg: SampleConfig, limits: Limits) -> None:
    """Stop strings: how many, their characters all together, and a beam search's work with them."""
    _at_most("stop", len(cfg.stop), "max_stops", limits, unit=" strings")
    chars = sum(map(len, cfg.stop))
    if chars > limits.max_stop_chars:
        raise LimitError(413, "max_stop_chars", f"the stop strings have {chars} characters in all; this server "
                                                f"takes at most {limits.max_stop_chars} (max_stop_chars)")
    if cfg.beam and cfg.stop:
        _at_most("beam x length x stop strings", cfg.beam * cfg.length * len(cfg.stop), "max_beam_stop_work",
                 limits)


def check_next(cfg: SampleConfig, limits: Limits) -> None:
    """Raise LimitError if a next-token request's options are over a limit."""
    check_prime(cfg.prime, limits)
    _at_most("top_probs", cfg.top_probs, "max_top_probs", limits)


def _at_most(option: str, value: int, limit: str, limits: Limits, what: str = "limit of", unit: str = "") -> None:
    """A 422 naming the limit when `value` (the request's `option`) is over `limits.<limit>`."""
    bound = getattr(limits, limit)
    if value > bound:
        raise LimitError(422, limit, f"{option} {value} is over this server's {what} {bound}{unit} ({limit})")
