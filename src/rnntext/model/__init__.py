"""The trained model as data: its parameters, and the run directory it lives in. No torch, no pickle.

parameters.py   every parameter's name and shape (PyTorch's), the one count of them, and their
                initial values: what both engines, the run's weights files and the exporters follow
layout.py       the names of the files in a run directory: every other module asks for them here
saved.py        model.json (RunInfo: architecture, vocabulary, tokenizer and normalisation
                settings, format version) and the weights files: writing, reading, checking
checkpoint.py   the trainer checkpoint (trainer.safetensors, trainer.json, checkpoints/)
records.py      config.toml (the resolved configuration) and metrics.jsonl
claim.py        the run's record (.rnntext-run) and how a command takes a directory

A run directory holds:

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

This package is the only code that names, writes and reads those files: training, the loaded
model (rnntext.trained), serving, exporting and plotting ask it. Every write is atomic
(rnntext.data.atomic). It sits above the text, data and cells and below both engines.
"""
