"""`rnntext inspect`: the text coloured by one unit of the model, as a self-contained HTML page, and
the units that track quotes, brackets, the position in the line, ... (rnntext.inspection)."""

from __future__ import annotations

import json
from pathlib import Path

from rnntext.cli.flags import add_condition, add_run, add_weights
from rnntext.errors import ConfigError
from rnntext.inspection import MAX_TOKENS, PAGE_TOKENS, TRACKS
from rnntext.inspection.recording import ENGINES
from rnntext.sampling import UNKNOWN_HELP

HELP = "look inside a model: which units track quotes, brackets, line position; the text coloured by a unit"
DESCRIPTION = ("Runs the model over a text (the run's own validation split when none is given), writes a "
               "self-contained HTML page (no server, no network) with the text coloured token by token by a "
               "chosen unit's value, its top predictions per position, and the units whose activations correlate "
               "most with features of the text (inside quotes, inside brackets and their depth, position in the "
               "line, inside a word, after a line end, and at word level the position in the sentence).")


def add_arguments(p) -> None:
    add_run(p)
    p.add_argument("files", nargs="*", metavar="TEXT", help="text files or folders (read and normalised as in "
                                                            "training); none: the run's own validation split")
    p.add_argument("--text", help="a passage to inspect, given here instead of files")
    p.add_argument("-o", "--output", default="inspect.html", help="the page to write (default: inspect.html)")
    p.add_argument("--force", action="store_true", help="replace the page if it exists")
    add_weights(p)
    p.add_argument("--engine", choices=ENGINES, default=ENGINES[0],
                   help="auto: numpy, the reference engine (no torch needed); torch: the torch engine's model, "
                        "stepped token by token in float32 (the same values to 1e-5)")
    p.add_argument("--max-tokens", type=int, default=MAX_TOKENS,
                   help=f"search for units over at most this many tokens from the start (default: {MAX_TOKENS:,})")
    p.add_argument("--page-tokens", type=int, default=PAGE_TOKENS,
                   help=f"tokens the page draws; longer texts are cut, saying so (default: {PAGE_TOKENS:,}, which "
                        "it recolours smoothly)")
    p.add_argument("--top", type=int, default=3, help="units listed per feature (default: 3)")
    p.add_argument("--unknown", default="error", help=f"symbols outside the vocabulary: {UNKNOWN_HELP} "
                                                      "(default: error)")
    add_condition(p, "inspect")
    p.add_argument("--json", action="store_true", help="print one JSON object: the page, the tokens read and shown, "
                                                       "and per feature its best units with their correlation")


def run(args) -> int:
    from rnntext.inspection import inspect_text
    from rnntext.inspection.page import check_output, write_page
    from rnntext.trained import Model

    if args.files and args.text is not None:
        raise ConfigError("text: give text files or --text, not both")
    if args.page_tokens < 1 or args.top < 1:
        raise ConfigError(f"{'page_tokens' if args.page_tokens < 1 else 'top'}: must be at least 1")
    check_output(args.output, args.force)  # before the work, not after
    model = Model.load(args.run, args.weights)
    text = model.read_text(args.files) if args.files else args.text
    found = inspect_text(model, text, args.engine, args.condition, args.unknown, args.max_tokens, args.page_tokens,
                         args.top)
    page = write_page(model, found, args.output, name=Path(args.run).resolve().name, force=args.force)
    if args.json:
        print(json.dumps({"page": str(page), "tokens": found.read, "total": found.total, "shown": len(found.shown),
                          "note": found.cut_note(), "tracks": TRACKS, "features": found.found}))
        return 0
    print(f"wrote {page}: {len(found.shown):,} tokens of {found.text_name()}, coloured by any unit; open it in a "
          f"browser")
    if note := found.cut_note():
        print(f"cut: {note}")
    print(f"units that track a feature over {found.read:,} tokens (|r| >= {TRACKS}):")
    for feature in found.found:
        print(f"  {describe(feature)}")
    return 0


def describe(found: dict) -> str:
    """One line for a feature: its best units, or why none tracks it."""
    if not found["varies"]:
        return f"{found['description']}: does not vary in this text"
    units = ", ".join(f"layer {u['layer']} {u['exposed']} #{u['unit']} r={u['r']:+.2f}" for u in found["units"])
    return f"{found['description']}: {units}" if found["tracked"] else \
        f"{found['description']}: no unit tracks it (best {units})"
