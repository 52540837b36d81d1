"""The Python API, a thin front: prepare(), train() and load().

What notebooks and the command line call. Arguments have the same names and defaults as the
CLI flags and the TOML keys (the dataclasses in rnntext.config are shared); an option left at
None leaves the layers under it (a preset, a config file, the defaults) to decide. `load`
returns the trained model a user holds (rnntext.trained.Model: it samples, scores and
describes itself). Nothing here imports torch at module level.
"""

from __future__ import annotations

import time
from pathlib import Path

from rnntext import config as config_mod
from rnntext.errors import ConfigError, InputError
from rnntext.faces import ask
from rnntext.options import current_names, deprecation, without_none
from rnntext.trained import Model


def prepare(inputs, output, *, force: bool = False, preset: str | None = None, config: str | None = None,
            **options) -> dict:
    """Read text (files, directories, built-in corpora), write a prepared HDF5 dataset; return a
    summary (tokens, vocabulary, splits, and for each directory its `listings`: the files read
    and those skipped, rnntext.text.read.Listing)."""
    from rnntext.data.dataset import prepare_dataset
    from rnntext.model.claim import refuse_run_file
    from rnntext.text.read import list_inputs, resolve_sources

    refuse_run_file(output, "prepare")
    cfg = config_mod.resolve(preset, config, without_none(options))
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    sources = resolve_sources([str(i) for i in inputs], cfg.data.glob, cfg.data.encoding)
    summary = prepare_dataset(sources, cfg.data, output, force=force)
    return {**summary, "listings": list_inputs(inputs, cfg.data.glob, cfg.data.encoding)}


def train(inputs=None, output=None, *, resume: bool = False, force: bool = False, preset: str | None = None,
          config: str | None = None, progress=None, report=None, **options):
    """Train into run directory `output` from a prepared dataset or from text (prepared on the fly).

    `progress`: a callable that receives each training event as a dict, its "kind" saying which
    (plan, start, step, log, val, example, sample, end: rnntext.progress lists their fields),
    e.g. `progress=lambda e: e["kind"] == "val" and print(e["val_loss"])`. Left out, a notebook
    (an IPython kernel) shows a progress bar and elsewhere nothing is shown; False shows nothing
    anywhere. `report` is its old name. Returns a TrainResult (iterations, best validation
    loss, last validation metrics, what --force removed, ...).
    """
    from rnntext.training import distributed, lifecycle, session
    from rnntext.training.trainer import check_engine_options

    started = time.monotonic()  # --time-limit holds everything from here: preparing, probing, training
    if output is None:
        raise ConfigError(f"output: give the run directory with {ask('output', fill='RUN')}")
    if resume and force:
        raise ConfigError(f"resume: {ask('resume', True)} continues a run and {ask('force', True)} starts it over: pass one "
                          f"of them")
    run = Path(output)
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs or [])
    if resume and lifecycle.starts_instead(run, inputs):
        resume = False  # nothing to resume, and the command says what to train on: the run starts
    cfg = lifecycle.resolve_for_run(run, resume, preset, config, without_none(options))
    if resume:
        inputs = lifecycle.resume_inputs(run, inputs)
    if not inputs:
        raise InputError("no input given: name a prepared dataset (.h5), a text file, a directory or python-docs")
    config_mod.to_toml(cfg)  # a value config.toml cannot hold is refused now, not after training
    check_engine_options(cfg)
    from rnntext.progress import callback

    # `report`, progress's old name, is taken as every old name is (rnntext.options)
    progress = current_names(without_none({"progress": progress, "report": report}), {"report": "progress"},
                             deprecation("rnntext.train's argument")).get("progress")
    progress, own = callback(progress, cfg.train.quiet)
    world = distributed.setup(cfg.train.device)
    try:
        result = session.train_in(run, inputs, cfg, resume, force, progress, world, [*inputs, config], started)
        distributed.barrier(world)  # the ranks tear down together: gloo can abort a rank whose peer left first
        return result
    finally:
        distributed.teardown(world)
        if own is not None:
            own.close()


def load(run_dir, weights: str = "latest") -> Model:
    """Load a run directory (model.json and its latest weights, or the best with weights='best')."""
    return Model.load(run_dir, weights)


__all__ = ["Model", "load", "prepare", "train"]
