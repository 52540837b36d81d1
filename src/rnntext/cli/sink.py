"""Writing generated tokens to stdout as they come, whole characters only.

The text comes from the model's stream decoder (rnntext.text.levels: each level knows how its
ids become text piece by piece, bytes through UTF-8 and words with their spacing)."""

from __future__ import annotations

import sys


class TextSink:
    """Writes one sample to stdout as it is generated: the prime's text, then each token's."""

    def __init__(self, model, stop=()):
        self.decoder, self.level, self.count = model.decoder(stop), model.level, 0

    def start(self, prime: str, prime_ids) -> None:
        """Show the prime the way its level shows one (as typed, or decoded from its ids)."""
        sys.stdout.write(self.level.show_prime(self.decoder, prime, [int(i) for i in prime_ids]))

    def write(self, token_id: int) -> None:
        text = self.decoder.feed([token_id])
        sys.stdout.write(text)
        self.count += 1
        if "\n" in text or self.count % 32 == 1:  # the first character shows at once
            sys.stdout.flush()

    def finish(self) -> None:
        sys.stdout.write(self.decoder.flush())
        sys.stdout.flush()
