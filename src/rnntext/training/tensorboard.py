"""Optional TensorBoard logging (`--tensorboard`): the metrics lines as scalars in RUN/tensorboard/.

metrics.jsonl stays the record of a run; this only mirrors it for people who watch runs in
TensorBoard. torch.utils.tensorboard (which needs the `tensorboard` package) is imported
when a writer is made, so nothing else pays for it.
"""

from __future__ import annotations

from pathlib import Path

from rnntext.extras import missing
from rnntext.faces import ask
from rnntext.model.layout import TENSORBOARD

# metrics.jsonl key -> TensorBoard tag. Both losses under "loss/" so TensorBoard draws them
# in one section, side by side.
TAGS = {"train_loss": "loss/train", "val_loss": "loss/val", "lr": "train/lr", "tokens_per_s": "train/tokens_per_s",
        "val_accuracy": "val/accuracy", "val_bpc": "val/bpc", "val_perplexity": "val/perplexity"}


class TensorBoardWriter:
    """Write metrics records (the dicts the trainer appends to metrics.jsonl) as scalars."""

    def __init__(self, run_dir: str | Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise missing("tensorboard", ask("tensorboard", True)) from None
        self.path = Path(run_dir) / TENSORBOARD
        # flush_secs: a person watching the run sees a point within seconds, not two minutes.
        self._writer = SummaryWriter(log_dir=str(self.path), flush_secs=10)

    def log(self, record: dict) -> None:
        """One metrics line: every known numeric key at step record["iter"]; others are ignored."""
        step = int(record["iter"])
        for key, tag in TAGS.items():
            value = record.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self._writer.add_scalar(tag, float(value), step)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
