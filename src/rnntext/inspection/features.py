"""Features of a text, and the units whose activations follow them.

Each feature is one number per token: its value once the token is read, which is what the
units' activations at that position have seen. Karpathy, Johnson and Fei-Fei ("Visualizing and
Understanding Recurrent Networks", 2015) found LSTM cells that track the first ones:

    quote         1 inside double quotes ("...", or the curly pair), else 0
    bracket       1 inside parentheses or brackets ((), [], {}), else 0
    depth         how many of them are open
    line_pos      characters since the last line end
    in_word       1 when the last character read is a letter or digit, else 0
    line_end      1 right after a line end (the last character read is a line end), else 0
    sentence_pos  tokens of the current sentence read so far (0 after . ! ? or a line end);
                  for levels whose tokens are words (`sentence_position` of the level)

UnitSearch takes a text's windows one after another and keeps float64 sums, so that a long text
is never held whole, and gives for each feature the units (across layers and exposed arrays)
with the largest |Pearson correlation|. A feature whose best unit stays under TRACKS is one no
unit tracks; one that is constant over the text cannot be tracked and says so.
"""

from __future__ import annotations

import numpy as np

from rnntext.inspection.names import split_name

TRACKS = 0.5  # |correlation| from which a unit is said to track a feature
FEATURES = {
    "quote": "inside double quotes",
    "bracket": "inside parentheses or brackets",
    "depth": "depth of open parentheses and brackets",
    "line_pos": "position in the line (characters since the line end)",
    "in_word": "inside a word (the last character is a letter or digit)",
    "line_end": "right after a line end",
    "sentence_pos": "position in the sentence (tokens since . ! ? or a line end)",
}
OPEN, CLOSE = "([{", ")]}"
SENTENCE_ENDS = (".", "!", "?", "\n")


class TextFeatures:
    """The features of a text given piece by piece (the text each token adds), over as many calls
    as it has windows: what is open at the end of one window is open at the start of the next."""

    def __init__(self, sentences: bool = False):
        self.names = [n for n in FEATURES if sentences or n != "sentence_pos"]
        self.quote, self.depth, self.line_pos, self.sentence_pos, self.last = False, 0, 0, 0, ""

    def __call__(self, pieces: list[str]) -> dict[str, np.ndarray]:
        rows = np.zeros((len(pieces), len(FEATURES)))  # (T, every feature), in FEATURES' order
        for t, piece in enumerate(pieces):
            for ch in piece:
                self.read(ch)
            if piece.strip():
                self.sentence_pos = 0 if piece.rstrip(" ").endswith(SENTENCE_ENDS) else self.sentence_pos + 1
            elif "\n" in piece:
                self.sentence_pos = 0
            rows[t] = (self.quote, self.depth > 0, self.depth, self.line_pos, self.last.isalnum(),
                       self.last == "\n", self.sentence_pos)
        return {name: rows[:, j] for j, name in enumerate(FEATURES) if name in self.names}

    def read(self, ch: str) -> None:
        if ch == '"':
            self.quote = not self.quote
        elif ch in "\u201c\u201d":
            self.quote = ch == "\u201c"
        elif ch in OPEN:
            self.depth += 1
        elif ch in CLOSE:
            self.depth = max(self.depth - 1, 0)  # a stray closing bracket does not go below zero
        self.line_pos = 0 if ch == "\n" else self.line_pos + 1
        self.last = ch


class UnitSearch:
    """Pearson correlation of every unit with every feature, from sums kept window by window.

    The sums are of values less the first window's means, so that they stay small (float64)."""

    def __init__(self):
        self.n, self.features, self.columns = 0, [], []  # columns: (array name, units) in x's order

    def add(self, features: dict[str, np.ndarray], arrays: dict[str, np.ndarray]) -> None:
        """One window: features {name: (t,)}, arrays {name: (t, H)}."""
        y = np.stack(list(features.values()), axis=1).astype(np.float64)  # (t, F)
        x = np.concatenate(list(arrays.values()), axis=1).astype(np.float64)  # (t, U)
        if not self.n:
            self.features, self.columns = list(features), [(k, a.shape[1]) for k, a in arrays.items()]
            self.x0, self.y0 = x.mean(axis=0), y.mean(axis=0)
            self.sx, self.sxx = np.zeros(x.shape[1]), np.zeros(x.shape[1])
            self.sy, self.syy, self.sxy = np.zeros(y.shape[1]), np.zeros(y.shape[1]), np.zeros((y.shape[1], x.shape[1]))
        x -= self.x0
        y -= self.y0
        self.sx += x.sum(axis=0)
        self.sxx += (x * x).sum(axis=0)
        self.sy += y.sum(axis=0)
        self.syy += (y * y).sum(axis=0)
        self.sxy += y.T @ x
        self.n += len(x)

    def correlations(self) -> tuple[np.ndarray, np.ndarray]:
        """(r (F, U), the features' variances (F,)); r is 0 for a unit or feature that is constant."""
        n = max(self.n, 1)
        mx, my = self.sx / n, self.sy / n
        vx, vy = np.maximum(self.sxx / n - mx * mx, 0), np.maximum(self.syy / n - my * my, 0)
        cov = self.sxy / n - np.outer(my, mx)
        scale = np.sqrt(np.outer(vy, vx))
        moving = np.outer(vy > 1e-12, vx > 1e-12 * np.maximum(1.0, (self.x0 + mx) ** 2))
        return np.where(moving, cov / np.where(moving, scale, 1.0), 0.0), vy

    def result(self, top: int = 3) -> list[dict]:
        """Per feature, in FEATURES' order: its name and description, whether it varies in the text
        and whether a unit tracks it (best |r| >= TRACKS), and its `top` units by |r|: the array
        ("layer1.c"), layer, exposed array, unit and r."""
        r, vy = self.correlations()
        where = [(name, j) for name, H in self.columns for j in range(H)]
        found = []
        for f, feature in enumerate(self.features):
            order = np.argsort(-np.abs(r[f]), kind="stable")[:top] if vy[f] > 1e-12 else []
            units = [{"array": where[u][0], "layer": split_name(where[u][0])[0], "exposed": split_name(where[u][0])[1],
                      "unit": where[u][1], "r": round(float(r[f, u]), 4)} for u in order]
            best = abs(units[0]["r"]) if units else 0.0
            found.append({"feature": feature, "description": FEATURES[feature], "varies": bool(vy[f] > 1e-12),
                          "tracked": best >= TRACKS, "units": units})
        return found

