"""`rnntext chat`: an interactive prompt; its flags and `:name value` settings are sampling options."""

from __future__ import annotations

from rnntext.cli.conversation import default_settings
from rnntext.cli.flags import add_condition, add_option_flags, add_run, add_weights
from rnntext.sampling import SampleConfig

HELP = "an interactive prompt: type text, the model continues it"
SETTINGS = ("length", "temperature", "top_k", "top_p", "greedy", "seed", "repetition_penalty", "beam")  # chat's flags and `:name value` settings
OWN_DEFAULTS = {"length": 20, "temperature": 0.8}  # a chat answers briefly, a little more sure of itself


def add_arguments(p) -> None:
    add_run(p)
    add_weights(p)
    add_condition(p)
    add_option_flags(p, SampleConfig, names=SETTINGS, defaults=default_settings(SETTINGS, OWN_DEFAULTS),
                     title="sampling options (change them in the chat with :name value)")


def run(args) -> int:
    """The TensorFlow lab's prompt: type words, get the model's continuation."""
    from rnntext.cli.conversation import converse
    from rnntext.trained import Model

    model = Model.load(args.run, args.weights)
    settings = {name: getattr(args, name) for name in SETTINGS}
    return converse(model, args.run, settings, args.condition)
