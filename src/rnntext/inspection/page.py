"""The page `rnntext inspect` writes: one self-contained HTML file, no server, no network.

The text is drawn token by token, each token's background coloured by the chosen unit's value
on a diverging scale (blue below, white, red above; a gate in (0, 1) is centred at 1/2, any other
array scaled by the unit's largest |value| over the text), with controls for the layer, the
exposed array and the unit, the units the search found (a click selects one), and for each
position the model's likeliest next tokens and the probability it gave the token that came next
(point at it; a click keeps it).

Everything the page shows comes from one JSON block. Text from the model or its vocabulary is
only ever set as text (textContent), never parsed as HTML; the JSON is written with <, > and &
escaped, so no string in it can end its <script> element; and a Content-Security-Policy lets
only the page's own script run (by its hash) and connect nowhere. Values are stored per unit as
8 bits between the unit's lowest and highest value over the shown text (so shown to within
1/510 of that range): a 2 x 384 LSTM's six arrays over 2,000 tokens make a page of about 12 MB.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import numpy as np

from rnntext import cells
from rnntext.inspection.features import TRACKS
from rnntext.inspection.names import split_name

FORMAT, FORMAT_VERSION = "rnntext-inspect", 1
MARKERS = re.compile(r"@(CSP|STYLE|SCRIPT|DATA)@")


def write_page(model, inspection, out, name: str = "model", force: bool = False) -> Path:
    """Write the page for `inspection` (rnntext.inspection.Inspection, with `shown`) of `model` to
    the file `out`; an existing file is replaced only with `force`."""
    from rnntext.data.atomic import write_text

    out = check_output(out, force)
    write_text(out, page_html(page_data(model, inspection, name)))
    return out


def check_output(out, force: bool = False) -> Path:
    """Refuse a page path that is a run's file, a folder, or an existing file without force; make its folder."""
    from rnntext.model.claim import claim_output

    return claim_output(out, "inspect", force, example="inspect.html")


def page_html(data: dict) -> str:
    """The page around `data` (page_data): the template with its style, script and data inlined."""
    script = asset("inspect.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    parts = {"CSP": f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; "
                    f"base-uri 'none'; form-action 'none'",
             "STYLE": asset("inspect.css"), "SCRIPT": script, "DATA": safe_json(data)}
    return MARKERS.sub(lambda m: parts[m[1]], asset("inspect.html"))  # one pass: inserted text is not searched


def safe_json(data) -> str:
    """JSON that may stand inside a <script> element: ASCII, with <, > and & as \\u escapes, so
    that no string (a token "</script>", say) can end the element or open a comment."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def asset(name: str) -> str:
    return resources.files("rnntext.inspection").joinpath("assets", name).read_text(encoding="utf-8")


def page_data(model, inspection, name: str) -> dict:
    """Everything the page shows, as JSON-ready values (see the module docstring)."""
    shown = inspection.shown
    cell = cells.get(model.info.model.cell)
    ids = [int(i) for i in shown.ids]
    next_id = inspection.following
    used = {*ids, *(int(i) for i in shown.top_ids.ravel()), *([] if next_id is None else [next_id])}
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "name": name,
        "about": {"line": _about(model, inspection), "read": inspection.read, "total": inspection.total, "shown": len(shown)},
        "note": inspection.cut_note(), "tracks": TRACKS,
        "ids": ids, "pieces": shown.pieces, "next_id": next_id,
        "labels": {str(i): model.vocab.decode([i]) for i in sorted(used)},
        "arrays": [_array(key, a, cell) for key, a in shown.arrays.items()],
        "top": {"ids": shown.top_ids.tolist(), "probs": np.round(shown.top_probs, 5).tolist()},
        "next_prob": [None if np.isnan(p) else round(float(p), 5) for p in shown.next_prob],
        "found": inspection.found,
    }


def _array(key: str, a: np.ndarray, cell) -> dict:
    """One exposed array (T, H) as 8 bits per value, unit by unit, between each unit's lo and hi."""
    layer, exposed = split_name(key)
    lo, hi = a.min(axis=0), a.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0).astype(np.float64)
    q = np.rint((a - lo) / span * 255).astype(np.uint8).T  # (H, T): a unit's values side by side
    return {"name": key, "layer": layer, "exposed": exposed, "description": cell.exposes[exposed],
            "fraction": exposed in cell.fractions, "units": a.shape[1], "lo": lo.tolist(), "hi": hi.tolist(),
            "q": base64.b64encode(np.ascontiguousarray(q).tobytes()).decode("ascii")}



def _about(model, inspection) -> str:
    m = model.info.model
    return (f"{m.cell}, {m.num_layers} layer(s) of {', '.join(map(str, m.hidden_sizes))} units, "
            f"{model.vocab.level} level; {inspection.text_name()}: {len(inspection.shown):,} of "
            f"{inspection.total:,} tokens shown")
