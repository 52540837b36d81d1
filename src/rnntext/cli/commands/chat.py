"""`rnntext chat`: an interactive prompt; its flags and `:name value` settings are sampling options."""

from __future__ import annotations

from rnntext.cli.conversation import ChatConfig, default_settings
from rnntext.cli.flags import add_condition, add_option_flags, add_run, add_weights
from rnntext.sampling import SampleConfig

HELP = "an interactive prompt: type text, the model continues it"
SETTINGS = ("length", "temperature", "top_k", "top_p", "greedy", "seed", "repetition_penalty", "beam")  # chat's flags and `:name value` settings
OWN_DEFAULTS = {"length": 200, "temperature": 0.8}  # a reply ends at a sentence's end, at most 200 tokens on; a
# little more sure of itself than sampling


def add_arguments(p) -> None:
    add_run(p)
    add_weights(p)
    add_condition(p)
    defaults = default_settings(SETTINGS, OWN_DEFAULTS)
    add_option_flags(p, SampleConfig, names=SETTINGS, defaults=defaults,
                     title="sampling options (change them in the chat with :name value)")
    add_option_flags(p, ChatConfig, defaults=defaults, title="replies (change them in the chat with :name value)")


def run(args) -> int:
    """The TensorFlow lab's prompt: type words, get the model's continuation."""
    from rnntext.cli.conversation import converse
    from rnntext.trained import Model

    model = Model.load(args.run, args.weights)
    settings = {name: getattr(args, name) for name in default_settings(SETTINGS, OWN_DEFAULTS)}
    return converse(model, args.run, settings, args.condition)
