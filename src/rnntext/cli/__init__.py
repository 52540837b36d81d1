"""The command line: parses flags, calls rnntext.api (prepare, train) and the trained model
(rnntext.trained: sample, eval, info, chat), prints. With rnntext.progress (the training
progress display, which the API also shows in notebooks), the only package that prints.

Flags are generated from the option dataclasses (rnntext.config, rnntext.sampling,
rnntext.scoring, rnntext.serve.limits), so a field's name, default, help text and old names
are the flag's. A user's mistake (RnntextError) prints one line and exits with status 2.

Layout: dispatch (the parser from the table of subcommands, and main), flags (generated and
shared flags, old names, "did you mean"), commands/ (one module per subcommand), sink
(streaming text out), conversation (the chat loop), torchrun (--nproc).
"""

from rnntext.cli.dispatch import build_parser, entry, main

__all__ = ["build_parser", "entry", "main"]
