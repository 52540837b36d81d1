"""Writing generated tokens to stdout as they come, whole characters only."""

from __future__ import annotations

import sys


class TextSink:
    """Writes tokens to stdout as they come. Characters go out as they are; bytes through an
    incremental UTF-8 decoder; words and subwords by decoding the ids so far and writing what
    is new (their spacing depends on the neighbours)."""

    def __init__(self, model):
        import codecs

        self.model, self.level, self.ids, self.shown, self.count = model, model.vocab.level, [], 0, 0
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace") if self.level == "byte" else None

    def start(self, prime: str, prime_ids) -> None:
        """Show the prime: characters and bytes as typed; words and subwords join the
        continuation's decoding, since the spacing between them depends on both."""
        if self.level in ("char", "byte"):
            sys.stdout.write(prime)
        else:
            self.ids = [int(i) for i in prime_ids]
            self.shown = len(self.model.decode(self.ids))
            sys.stdout.write(self.model.decode(self.ids))

    def write(self, token_id: int) -> None:
        if self.level == "char":
            text = self.model.decode([token_id])
        elif self.decoder:
            text = self.decoder.decode(self.model.vocab.tokens[token_id].encode("latin-1"))
        else:
            self.ids.append(token_id)
            full = self.model.decode(self.ids)
            text, self.shown = full[self.shown:], len(full)
        sys.stdout.write(text)
        self.count += 1
        if "\n" in text or self.count % 32 == 0:
            sys.stdout.flush()
