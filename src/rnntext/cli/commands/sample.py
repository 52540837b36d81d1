"""`rnntext sample`: generate text from a trained run; the flags are SampleConfig's fields."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rnntext.cli.flags import add_condition, add_option_flags, add_run, add_weights, option_values
from rnntext.errors import ConfigError, InputError
from rnntext.options import utf8_problem
from rnntext.sampling import FRESH_SEED, SampleConfig

HELP = "generate text from a trained model"
DESCRIPTION = ("Generate text. The prime runs through the model once, then one step per token. Without a prime, "
               "sampling starts from a newline. An option left out takes the run's [sample] setting (a preset's), "
               "else the default shown.")


def add_arguments(p) -> None:
    add_run(p)
    p.add_argument("--prime-file", help="a UTF-8 file whose text to start from")
    add_weights(p)
    p.add_argument("--json", action="store_true", help="print one JSON object per sample")
    p.add_argument("--verbose", action="store_true", help="print each generated token with its probability")
    add_condition(p)
    add_option_flags(p, SampleConfig, title="sample options")


def read_prime(args) -> str | None:
    """The prime of --prime or --prime-file, None when neither was given."""
    if args.prime is not None and args.prime_file is not None:
        raise ConfigError("prime: give --prime or --prime-file, not both")
    if args.prime_file is None:
        if args.prime and (bad := utf8_problem(args.prime)):
            raise InputError(f"prime: in --prime, {bad}: pass UTF-8 text (is the terminal set to UTF-8?)")
        return args.prime
    try:
        return Path(args.prime_file).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"prime file {args.prime_file} does not exist") from None
    except UnicodeDecodeError as e:
        raise InputError(f"prime file {args.prime_file} is not valid UTF-8 at byte {e.start}: save it as UTF-8") from None


def run(args) -> int:
    """The options are built once (Model.steps: the run's [sample] section under the flags, the
    seed drawn where none was given, a --prime-from read), the prime is run, and what the call
    holds goes down to the display."""
    from rnntext.trained import Model

    asked = {**option_values(args, SampleConfig), "prime": read_prime(args)}
    model = Model.load(args.run, args.weights)
    steps = model.steps(asked, args.condition)  # the prime's errors come before output
    show(args, model, steps, drawn=asked.get("seed", FRESH_SEED) == FRESH_SEED)
    return 0


def show(args, model, steps, drawn: bool) -> None:
    """What the command prints: the likeliest next tokens, the seed when it was drawn (so that
    the text can be had again), then the samples as --verbose, --json and --num-samples ask."""
    cfg = steps.cfg
    if args.verbose and cfg.num_samples > 1:
        raise ConfigError("verbose: shows one sample's probabilities: drop --num-samples")
    if args.verbose and cfg.beam:
        raise ConfigError("verbose: shows the probabilities tokens were sampled with: drop --beam")
    if steps.top is not None:
        print_top_probs(steps.top, cfg.prime, args.json)
    if not cfg.length:
        return
    if drawn and not args.json and not cfg.beam:  # beam search is deterministic: no seed to say
        print(f"rnntext sample: seed {cfg.seed} (--seed {cfg.seed} writes this text again)", file=sys.stderr)
    if not args.verbose and not args.json and cfg.num_samples == 1:
        print_streaming(model, steps, cfg.prime, steps.prime, cfg.stop)
    elif not args.verbose:
        print_samples(model, steps, cfg.prime, cfg.num_samples, None if cfg.beam else cfg.seed, args.json, cfg.stop)
    else:
        print_verbose(model, steps, cfg.temperature, cfg.seed, args.json)


def print_top_probs(tokens, prime: str, as_json: bool) -> None:
    """The likeliest next tokens after the prime: a line each, or one JSON object."""
    if as_json:
        print(json.dumps({"prime": prime, "top_probs": [{"token": t, "prob": p} for t, p in tokens]},
                         ensure_ascii=False))
        return
    for token, p in tokens:
        print(f"{token!r:>10} {p:.4f}")


def print_verbose(model, stream, temperature: float, seed: int, as_json: bool) -> None:
    """Each token of one sample with the probability it was drawn with: a line each, or JSON lines."""
    from rnntext.generation.rules import probabilities

    for streams, ids in stream:
        if ids[0] < 0:
            break
        token, p = model.vocab.tokens[ids[0]], float(probabilities(streams.logits, temperature or 1.0)[0, ids[0]])
        print(json.dumps({"token": token, "prob": p, "seed": seed}, ensure_ascii=False) if as_json else
              f"{token!r}\t{p:.4f}")


def print_streaming(model, stream, prime: str, prime_ids, stop=()) -> None:
    """One sample, written as it is generated, after its prime (up to a stop string)."""
    from rnntext.cli.sink import TextSink

    sink = TextSink(model, stop)
    sink.start(prime, prime_ids)
    for _, ids in stream:
        if ids[0] >= 0:
            sink.write(int(ids[0]))
    sink.finish()
    print(flush=True)


def print_samples(model, stream, prime: str, num_samples: int, seed: int | None, as_json: bool, stop=()) -> None:
    """Several samples, or JSON objects that hold the seed (null for beam search, which uses
    none), printed when all are done (each up to a stop string)."""
    texts = model.decode_steps([ids for _, ids in stream], num_samples, stop)
    for i, text in enumerate(texts):
        if as_json:
            print(json.dumps({"sample": i, "prime": prime, "text": text, "seed": seed}, ensure_ascii=False))
        else:
            print(f"--- sample {i + 1} ---\n{prime}{text}")
    sys.stdout.flush()
