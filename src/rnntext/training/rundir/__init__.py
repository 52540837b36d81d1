"""The run directory: what `train` writes and `sample`, `eval` and `serve` read. No torch, no pickle.

This package is the only code that names, writes and reads the files in a run directory; the
trainer, the API, the lifecycle rules and the server call it.

  model.json          architecture, vocabulary, tokenizer/normalisation settings, format version
  model.safetensors   latest weights, PyTorch parameter names (both engines load it)
  best.safetensors    the weights with the best validation loss
  trainer.safetensors one self-contained checkpoint: weights, optimizer state, carried hidden
                      state, RNG states, and the trainer JSON in its header
  trainer.json        a readable copy of that JSON
  checkpoints/        numbered checkpoints (--keep-last)
  config.toml         the resolved configuration
  metrics.jsonl       one JSON line per logged step and per validation
  data.h5             the dataset, when the run prepared it from text
  .rnntext-run        the record of the run's inputs, configuration and files
  tensorboard/        --tensorboard event files;  curves.png  `rnntext plot`'s output

layout.py names them, model.py writes and reads model.json and the weights, checkpoint.py the
trainer checkpoint, records.py config.toml and metrics.jsonl, claim.py the record and how a
command takes a directory. Every write is atomic (rnntext.data.atomic).
"""

from rnntext.training.rundir.checkpoint import checkpoint_state, read_checkpoint, save, write_checkpoint
from rnntext.training.rundir.claim import MANIFEST_FORMAT, Claim, is_own_tmp, manifest_record, plan_claim, read_manifest
from rnntext.training.rundir.layout import (
    CHECKPOINTS,
    CONFIG,
    CURVES,
    DATA,
    MANIFEST,
    METRICS,
    MODEL_JSON,
    RUN_FILES,
    TENSORBOARD,
    TRAINER,
    TRAINER_JSON,
    WEIGHT_FILES,
    WEIGHTS,
    data_path,
    has_checkpoint,
    numbered,
)
from rnntext.training.rundir.model import (
    MAX_PARAMETERS,
    MODEL_FORMAT,
    MODEL_FORMAT_VERSION,
    RunInfo,
    count_parameters,
    digest,
    load_safetensors,
    model_json,
    read_info,
    read_weights,
    write_model,
)
from rnntext.training.rundir.records import (
    append_metrics,
    read_metrics,
    recorded_config,
    sample_defaults,
    truncate_metrics,
    write_config,
)

__all__ = [
    "CHECKPOINTS", "CONFIG", "CURVES", "DATA", "MANIFEST", "MANIFEST_FORMAT", "MAX_PARAMETERS", "METRICS",
    "MODEL_FORMAT", "MODEL_FORMAT_VERSION", "MODEL_JSON", "RUN_FILES", "TENSORBOARD", "TRAINER", "TRAINER_JSON",
    "WEIGHTS", "WEIGHT_FILES", "Claim", "RunInfo", "append_metrics", "checkpoint_state", "count_parameters",
    "data_path", "digest", "has_checkpoint", "is_own_tmp", "load_safetensors", "manifest_record", "model_json",
    "numbered", "plan_claim", "read_checkpoint", "read_info", "read_manifest", "read_metrics", "read_weights",
    "recorded_config", "sample_defaults", "save", "truncate_metrics", "write_checkpoint", "write_config",
    "write_model",
]
