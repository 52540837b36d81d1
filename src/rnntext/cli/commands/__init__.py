"""The subcommands: one module each, with HELP (and DESCRIPTION), add_arguments(parser) and run(args).

COMMANDS is the table `rnntext` dispatches from, in the order `rnntext --help` lists them.
Modules import nothing heavy at the top: a command's work imports what it needs.
"""

from rnntext.cli.commands import (
    chat,
    demo,
    evaluate,
    export,
    gradcheck,
    info,
    inspect,
    plot,
    prepare,
    presets,
    sample,
    serve,
    train,
)

COMMANDS = {"prepare": prepare, "export": export, "train": train, "sample": sample, "eval": evaluate, "plot": plot,
            "inspect": inspect, "demo": demo, "chat": chat, "info": info, "gradcheck": gradcheck, "serve": serve, "presets": presets}
