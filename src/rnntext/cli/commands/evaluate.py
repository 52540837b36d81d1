"""`rnntext eval`: loss, bits per character, perplexity and accuracy on text; or, with
--novelty, how much of what the model writes is not in its training text."""

from __future__ import annotations

import dataclasses
import json

from rnntext.cli.flags import add_condition, add_option_flags, add_run, add_weights, option_values
from rnntext.errors import ConfigError
from rnntext.judge import NOVELTY_SAMPLES
from rnntext.sampling import SampleConfig
from rnntext.scoring import EvalConfig

HELP = "loss, bits per character, perplexity and accuracy of a model on text"
NOVELTY = ("num_samples", "length", "temperature", "top_k", "top_p", "seed", "repetition_penalty")  # the sampling options of --novelty


def add_arguments(p) -> None:
    add_run(p)
    p.add_argument("files", nargs="*", metavar="FILE", help="text files or directories (normalised as in training); "
                                                            "none: the run's own test split, or its validation split "
                                                            "when it has no test split")
    add_weights(p)
    p.add_argument("--json", action="store_true", help="print one JSON object with loss, bpc, perplexity, accuracy, "
                                                       "tokens, unknown")
    add_condition(p, "evaluate")
    add_option_flags(p, EvalConfig, title="evaluation options")
    p.add_argument("--novelty", action="store_true", help="instead: the share of sampled 20-character substrings "
                                                         "(5-word n-grams) that never occur in the training text")
    defaults = {f.name: f.default for f in dataclasses.fields(SampleConfig) if f.name in NOVELTY}
    add_option_flags(p, SampleConfig, names=NOVELTY, defaults={**defaults, "num_samples": NOVELTY_SAMPLES},
                     title="--novelty: sampling options")


def run(args) -> int:
    from rnntext.trained import Model

    model = Model.load(args.run, args.weights)
    if args.novelty:
        return print_novelty(model, args)
    text = model.read_text(args.files) if args.files else None  # none: the run's own test (or validation) split
    if text is None and args.unknown is not None:
        raise ConfigError("unknown: the run's own split has no unknowns: drop --unknown, or name the text")
    result = model.evaluate(text, condition=args.condition, **option_values(args, EvalConfig))
    result.setdefault("bpc", None)
    if args.json:
        keys = ("loss", "bpc", "perplexity", "accuracy", "tokens", "unknown", "split", "dataset", "precision")
        print(json.dumps({k: result[k] for k in keys if k in result}))
        return 0
    bpc = f", {result['bpc']:.4f} bits per character" if result["bpc"] is not None else ""
    where = f" of the {result['split']} split of {result['dataset']}" if "split" in result else ""
    print(f"loss {result['loss']:.4f} nats per token{bpc}, perplexity {result['perplexity']:.2f}, "
          f"accuracy {result['accuracy']:.4f} over {result['tokens']:,} tokens{where} ({result['unknown']} unknown"
          f"{'' if result['precision'] == 'float32' else ', ' + result['precision'] + ' autocast'})")
    return 0


def print_novelty(model, args) -> int:
    """torch-rnn's novel-substring check: how much of what the model writes is not copied."""
    from rnntext.judge import model_novelty

    options = option_values(args, SampleConfig)
    r = model_novelty(model, condition=args.condition, **options)
    if args.json:
        print(json.dumps({k: v for k, v in r.items() if k != "samples"}))
    else:
        print(f"novel {r['n']}-{r['unit']} n-grams: {r['novel']:,} of {r['ngrams']:,} ({r['novel_share']:.1%}) "
              f"in {args.num_samples} samples of {args.length} tokens at temperature {args.temperature}, "
              f"seed {r['seed']}")
    return 0
