"""Looking inside a trained model: which units track quotes, brackets, line length, drawn over the text.

    acts = model.activations("some text")    # Activations: acts["layer1.c"] is (T, H), per token
    found = model.find_units()               # per feature, the units that follow it best, with r
    rnntext inspect RUN -o page.html         # the text coloured by a chosen unit, as one HTML file

recording.py reads a text as the model does and steps it through the network (NumPy or torch)
keeping every array the cell exposes; features.py computes features of the text (inside quotes,
bracket depth, position in the line, ...) and searches the units for them; page.py writes the
self-contained page. `inspect_text` does the one pass that the page needs: the search over up
to max_tokens tokens, and the first page_tokens of them kept for drawing. After Karpathy,
Johnson and Fei-Fei, "Visualizing and Understanding Recurrent Networks" (2015).
"""

from __future__ import annotations

from dataclasses import dataclass

from rnntext.inspection.features import FEATURES, TRACKS, TextFeatures, UnitSearch
from rnntext.inspection.recording import MAX_TOKENS, Activations, activations, read_ids, windows

PAGE_TOKENS = 2_000  # tokens the page draws by default: it recolours them smoothly at every choice of unit


@dataclass
class Inspection:
    """What `inspect_text` found."""

    shown: Activations | None  # the first page_tokens positions (None when page_tokens is 0)
    found: list[dict]  # per feature, its best units (rnntext.inspection.features.UnitSearch.result)
    read: int  # tokens read and searched
    total: int  # tokens in the whole text
    source: dict  # {"split", "dataset"} when the run's own split was read, else {}
    following: int | None = None  # the token after the shown ones, where the text goes on

    def text_name(self) -> str:
        """What was read, in words: "the validation split of data.h5", or "the given text"."""
        from pathlib import Path

        from rnntext.scoring import SPLIT_NAMES

        if not self.source:
            return "the given text"
        return f"the {SPLIT_NAMES[self.source['split']]} split of {Path(self.source['dataset']).name}"

    def cut_note(self) -> str | None:
        """What was left out of a long text, in words; None when nothing was."""
        shown = len(self.shown) if self.shown is not None else self.read
        if shown == self.total:
            return None
        parts = [f"the text has {self.total:,} tokens"]
        if self.read < self.total:
            parts.append(f"units were searched over the first {self.read:,} (max_tokens)")
        if shown < self.read:
            parts.append(f"the page shows the first {shown:,} (page_tokens), a length it redraws smoothly")
        return "; ".join(parts)


def inspect_text(model, text: str | None = None, engine: str = "auto", condition=None, unknown: str = "error",
                 max_tokens: int | None = MAX_TOKENS, page_tokens: int = PAGE_TOKENS, top: int = 3) -> Inspection:
    """Read `text` (None: the run's validation split) with `model` (rnntext.trained.Model), search
    its first max_tokens tokens for units that track the features, keep the first page_tokens."""
    ids, source = read_ids(model, text, unknown, max_tokens)
    features, search, shown = TextFeatures(model.level.sentence_position), UnitSearch(), []
    kept = 0
    for part in windows(model, ids, engine, condition, max_tokens):
        search.add(features(part.pieces), part.arrays)
        if kept < page_tokens:
            shown.append(part.head(page_tokens - kept))
            kept += len(shown[-1])
    page = Activations.join(shown, len(ids), source) if shown else None
    following = int(ids[kept]) if page is not None and kept < len(ids) else None
    read = len(ids) if max_tokens is None else min(max_tokens, len(ids))
    return Inspection(page, search.result(top), read, len(ids), source, following)


__all__ = ["FEATURES", "MAX_TOKENS", "PAGE_TOKENS", "TRACKS", "Activations", "Inspection", "activations",
           "inspect_text"]
