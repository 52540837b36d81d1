"""One `train` command from its resolved configuration: claim the run directory, prepare the
data, build the run's description, train (rnntext.api.train checks the arguments first)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from rnntext.config import AUTO_BATCH, Config
from rnntext.data.dataset import open_dataset, prepare_dataset
from rnntext.model import checkpoint, layout, records, saved
from rnntext.text.read import resolve_sources
from rnntext.training import autosize, distributed, finetune, lifecycle, plan, stopping
from rnntext.training.budget import Budget, scheduled_before
from rnntext.training.schedules import follows_budget, lr_at
from rnntext.training.trainer import Trainer, make_batches


def train_in(run: Path, inputs, cfg: Config, resume: bool, force: bool, report, world, protected, started: float):
    """Claim the run directory, prepare text into its dataset, and train (resuming where asked);
    the TrainResult, with what a new run removed. `started`: when the command began (monotonic),
    for --time-limit."""
    restart = resume and not layout.has_checkpoint(run)  # no checkpoint yet: start the recorded run
    claim, removed = None, []
    try:  # the claim holds the run directory's lock until training ends, however it ends
        parent = finetune.parent_for(cfg, run, inputs) if cfg.train.init_from and (restart or not resume) else None
        own_data = lifecycle.prepares_data(inputs, cfg)
        data_path = layout.data_path(run) if own_data else Path(inputs[0])
        if world.main:  # rank 0 claims the run directory and prepares the data; the others wait
            # inputs that are missing or not text are refused before the run directory is touched
            sources = resolve_sources([str(i) for i in inputs], cfg.data.glob, cfg.data.encoding) \
                if own_data and not cfg.train.init_from and not (resume and data_path.is_file()) else None
            if not own_data:  # a dataset given: its header and claimed sizes checked as it opens
                open_dataset(data_path).close()
            claim = lifecycle.claim_run_dir(run, inputs, cfg, resume, force, protected)
            if not resume:
                removed = claim.apply()
            if own_data and not (resume and data_path.is_file()):
                prepare_data(run, inputs, cfg, data_path, parent, sources)
        distributed.barrier(world)
        budget = Budget(cfg.train.time_limit, started)
        with open_dataset(data_path) as dataset:
            dataset.check_ids()
            cfg, info = run_info(run, cfg, dataset, data_path, not resume or restart, world, budget)
            if resume and not restart:
                lifecycle.check_resumable(run, info)
                budget.before = scheduled_before(checkpoint.checkpoint_state(run))
                # the recorded reasons, with the options this session runs under
                info.training["recipe"] = resumed_recipe(cfg, dataset, info.training.get("recipe", {}), budget)
            if parent is not None:
                finetune.check_data(parent, info)
                info.training["init_from"] = parent.record()
            if report is not None and world.main:  # what it chose and why, before anything else
                report({"kind": "plan", "resumed": resume and not restart, **info.training["recipe"]})
            trainer = Trainer(cfg, dataset, run, info, report=report, sampler=Preview(info, cfg), world=world,
                              budget=budget)
            if parent is not None:
                trainer.engine.load_weights(finetune.grown(parent.weights, len(parent.info.vocab), cfg.model,
                                                           len(info.vocab), cfg.train.seed))
            if resume and not restart:
                trainer.restore()
            if claim is not None and resume:  # every check has passed: now the directory may change
                claim.apply()
                if restart:
                    records.truncate_metrics(run, 0)
            result = trainer.fit()
    finally:
        if claim is not None and claim.lock is not None:
            claim.lock.release()
    return dataclasses.replace(result, removed=tuple(removed))


def prepare_data(run: Path, inputs, cfg: Config, data_path: Path, parent, sources) -> None:
    """Prepare the run's own data.h5 from text (`sources`, already resolved); a fine-tuned run's
    in its parent's vocabulary extended (or, resumed without it, in its own)."""
    if not cfg.train.init_from:
        prepare_dataset(sources, cfg.data, data_path, force=True)
        return
    vocab = parent.info.vocab if parent is not None else saved.read_info(run).vocab
    finetune.prepare_extended(inputs, cfg, vocab, data_path)


def run_info(run: Path, cfg: Config, dataset, data_path: Path, new: bool, world, budget: Budget):
    """The configuration with the dataset's labels (and, for a new run, the default stop and an
    auto size), the RunInfo; a new run's choices go into its training.recipe (rnntext.training.plan)."""
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, labels=tuple(dataset.labels)))
    training = {"dataset": str(data_path.resolve())}
    if new:  # the stop and an auto hidden size are chosen once, from the data and the time limit
        check_batches(cfg, dataset, world)  # what the data alone decides, before the probes
        cfg, default_stop = stopping.default_stopping(cfg, dataset.size("val") > 1)
        cfg, why = autosize.resolve(cfg, len(dataset.vocab), dataset.size("train"), world, budget, dataset.size("val"))
        training["recipe"] = plan.recipe(cfg, len(dataset.vocab), dataset.size("train"), why, default_stop)
    return cfg, saved.RunInfo(run, cfg.model, dataset.vocab, dataset.meta.get("data", {}), training)


def resumed_recipe(cfg: Config, dataset, recorded: dict, budget: Budget) -> dict:
    """The recorded reasons with the options this session runs under, and, for a schedule that
    follows the time budget, where it continues from."""
    default_stop = bool(recorded.get("stopping", {}).get("default"))
    rec = {**recorded, **plan.recipe(cfg, len(dataset.vocab), dataset.size("train"), None, default_stop)}
    rec.pop("resumed_schedule", None)
    if follows_budget(cfg.train):
        total = budget.before + max(budget.remaining(), 0.0)
        share = lr_at(cfg.train, cfg.train.warmup_iters, 0, 1.0, budget.before / total if total else 1.0)
        rec["resumed_schedule"] = {"scheduled_s": round(budget.before, 1), "total_s": round(total, 1),
                                   "lr_share": round(share / cfg.train.lr, 3)}
    return rec


def check_batches(cfg: Config, dataset, world) -> None:
    """The batch layouts of the splits: too few tokens for the batch and window is a DatasetError
    now, in a moment, not after the auto size's probe has spent seconds of the time limit."""
    if not cfg.train.batch_size:  # auto: its smallest choice must fit
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, batch_size=AUTO_BATCH))
    make_batches(cfg, dataset, "train", dataset.vocab, world)
    if dataset.size("val") > 1:
        make_batches(cfg, dataset, "val", dataset.vocab)


class Preview:
    """What the trainer shows: samples, and for words the TensorFlow lab's example line."""

    def __init__(self, info, cfg):
        self.info, self.seed = info, cfg.train.seed
        self.condition = info.model.labels[0] if info.model.labels else None

    def __call__(self, weights, temperature: float, length: int) -> str:
        from rnntext.trained import Model

        return Model(self.info, weights).generate(length=length, temperature=temperature, seed=self.seed,
                                                  condition=self.condition)

    def example(self, weights, ids) -> dict:
        """Context words, the true next word and the model's guess, from ids (n+1,)."""
        from rnntext.trained import Model

        model = Model(self.info, weights)
        logits = model.streams(1, condition=self.condition).prime(np.asarray(ids[:-1]))
        guess = int(np.argmax(logits[0]))
        return {"context": model.vocab.decode(ids[:-1]), "true": model.vocab.decode([ids[-1]]),
                "predicted": model.vocab.decode([guess])}
