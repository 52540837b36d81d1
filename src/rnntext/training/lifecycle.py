"""What a `train` command may do with its run directory, decided before anything changes.

A new run claims the directory (rnntext.model.claim.plan_claim: only rnntext's recorded files are removed,
never an input or another program's file); a resume takes the run's recorded configuration,
inputs and data options, refuses others, and never trains on at a learning rate of 0 after
a cosine schedule over iterations has ended (one over the time budget continues by itself). An interrupt is taken between training iterations only
(InterruptGate), so that the checkpoint it leads to resumes exactly.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
from pathlib import Path

from rnntext import config as config_mod
from rnntext.config import Config
from rnntext.data.dataset import is_dataset
from rnntext.errors import ConfigError, InputError, RunError, TrainingError
from rnntext.faces import ask
from rnntext.model import checkpoint, claim, layout, records, saved

log = logging.getLogger(__name__)


def prepares_data(inputs, cfg: Config) -> bool:
    """Whether the run trains on its own data.h5: prepared from text, or (fine-tuning) any input
    moved into its extended vocabulary."""
    return bool(cfg.train.init_from) or not (len(inputs) == 1 and is_dataset(str(inputs[0])))


def claim_run_dir(run: Path, inputs, cfg: Config, resume: bool, force: bool, protected):
    """How this command takes the run directory (rnntext.model.claim.Claim), decided before anything changes,
    under the directory's lock (which the claim holds): only rnntext's own files are ever removed or
    replaced, never an input or another program's file."""
    writes = set(layout.RUN_FILES) - (set() if prepares_data(inputs, cfg) else {layout.DATA})
    if cfg.train.keep_last:
        writes.add(layout.CHECKPOINTS)
    record = claim.manifest_record([input_name(i) for i in inputs], cfg.to_dict())
    return claim.claim_locked(run, lambda: claim.plan_claim(run, resume=resume, force=force, writes=writes,
                                                            inputs=[Path(p) for p in protected if p], record=record))


def starts_instead(run: Path, inputs) -> bool:
    """Whether a --resume starts the run instead: the directory holds nothing to resume (no record,
    no checkpoint) and the command names what to train on, so that one job line, run again and
    again, starts the run the first time and resumes it after. With no input either, a RunError."""
    if (run.is_dir() and claim.read_manifest(run) is not None) or layout.has_checkpoint(run):
        return False
    if not inputs:
        raise RunError(f"{run} holds no rnntext run to resume (no checkpoint, no {layout.MANIFEST}): give the text to "
                       f"train on beside {ask('resume', True)}, and it starts the run there")
    log.info("%s holds no run to resume: starting it", run)
    return True


def input_name(path) -> str:
    """An input as the run records it: an absolute path, or a built-in corpus's name."""
    return str(Path(path).resolve()) if Path(path).exists() else str(path)


def resolve_for_run(run: Path, resume: bool, preset, config_file, overrides) -> Config:
    """Resolve the configuration. On resume the run's recorded configuration is the base (the
    checkpoint's, else the record's, else config.toml); its data options may not change, and a
    cosine schedule that has ended is re-fitted to a new time limit or refused."""
    if not resume:
        from rnntext.training import finetune

        return finetune.resolve(preset, config_file, overrides)  # with init_from: over the parent's options
    state = checkpoint.checkpoint_state(run) if run.is_dir() else None
    base = config_mod.merge(Config(), records.recorded_config(run, state))
    cfg = config_mod.resolve(preset, config_file, overrides, base=base)
    changed = [f"{f.name} {getattr(base.data, f.name)!r} -> {getattr(cfg.data, f.name)!r}"
               for f in dataclasses.fields(cfg.data) if getattr(base.data, f.name) != getattr(cfg.data, f.name)]
    if changed:
        raise ConfigError(f"cannot resume {run} with other data options ({'; '.join(changed)}): a run keeps its "
                          f"data: drop those options, or start a new run with another {ask('output')}")
    if cfg.train.init_from != base.train.init_from:
        raise ConfigError(f"init_from: a resumed run continues from its own checkpoint: drop {ask('init_from')}, or "
                          f"start a new run with another {ask('output')}")
    return _continue_schedule(run, cfg, state, overrides)


def _continue_schedule(run: Path, cfg: Config, state: dict | None, overrides) -> Config:
    """What a resume does to a cosine schedule. One that follows the time budget continues by
    itself (rnntext.training.budget). A length in iterations fitted by an earlier version of
    rnntext to its time limit (a checkpoint without a budget record) is dropped for the budget.
    A cosine over iterations that ended before `iteration` would train on at lr_min: it follows a
    new --time-limit instead, or is refused when it would mean a learning rate of 0."""
    tc, iteration = cfg.train, (state or {}).get("iteration", 0)
    if tc.lr_schedule not in ("cosine", "auto") or not tc.cosine_iters or not isinstance(iteration, int):
        return cfg
    if tc.lr_schedule == "auto" and state is not None and "budget" not in state and tc.time_limit \
            and "cosine_iters" not in overrides:
        log.info("the schedule of %s now follows the time budget (its fitted %d iterations are dropped)", run,
                 tc.cosine_iters)
        return dataclasses.replace(cfg, train=dataclasses.replace(tc, cosine_iters=0))
    end = tc.warmup_iters + tc.cosine_iters
    if iteration < end:
        return cfg
    if tc.time_limit and "cosine_iters" not in overrides:
        log.warning("the cosine schedule of %s ended at iteration %d; from iteration %d it follows --time-limit %gs "
                    "(a cosine over the time budget)", run, end, iteration, tc.time_limit)
        return dataclasses.replace(cfg, train=dataclasses.replace(tc, cosine_iters=0))
    if tc.lr_min > 0:
        log.warning("the cosine schedule of %s ended at iteration %d: training goes on at lr_min %g", run, end, tc.lr_min)
        return cfg
    raise TrainingError(f"the cosine schedule of {run} ended at iteration {end}, so training on would run at a "
                        f"learning rate of 0: pass {ask('time_limit', fill='SECONDS')} (the cosine then follows the time budget), "
                        f"{ask('cosine_iters')} above {iteration - tc.warmup_iters}, or {ask('lr_schedule', 'constant')}")


def _recorded_inputs(run: Path) -> list[str]:
    """The inputs the run was started with: its record, else the dataset model.json names."""
    manifest = claim.read_manifest(run) if run.is_dir() else None
    if manifest and manifest.get("inputs"):
        return [str(i) for i in manifest["inputs"]]
    try:
        return [str(saved.read_info(run).training["dataset"])]
    except (RunError, KeyError):
        return []


def resume_inputs(run: Path, given: list) -> list:
    """What a resume reads: the recorded inputs; inputs given again must be those."""
    recorded = _recorded_inputs(run)
    if not given:
        if not recorded and not layout.has_checkpoint(run):  # e.g. the disk filled as it was claimed
            raise RunError(f"{run} holds no rnntext run to resume (nothing was recorded there): start it with "
                           f"`rnntext train INPUT -o {run}`")
        if not recorded:
            raise InputError(f"cannot tell which data {run} was trained on (it has no record of it): name the "
                             f"dataset or text it was trained on, with {ask('resume', True)}")
        return recorded
    names = [input_name(g) for g in given]
    own_data = str(layout.data_path(run).resolve())
    if not recorded or names == recorded or names == [own_data] or (
            len(names) == 1 and is_dataset(names[0]) and not any(Path(r).exists() for r in recorded)):
        return given if names != [own_data] else recorded
    raise InputError(f"{run} was trained on {', '.join(recorded)}: {ask('resume', True)} continues with that data; "
                     f"drop {', '.join(map(str, given))}, or start a new run with another {ask('output')}")


def check_resumable(run: Path, info) -> None:
    """Architecture and vocabulary must match the checkpoint; length and schedule may change.
    Without model.json (the disk filled before the first one was written) the checkpoint alone
    decides: restoring it into another architecture fails, and model.json is written again at
    the next checkpoint."""
    if not (run / layout.MODEL_JSON).is_file():
        log.warning("%s has no model.json (writing it failed): it is written at the next checkpoint", run)
        return
    old = saved.read_info(run)
    if old.model != info.model:
        diff = [f"{f.name} {getattr(old.model, f.name)!r} -> {getattr(info.model, f.name)!r}"
                for f in dataclasses.fields(old.model) if getattr(old.model, f.name) != getattr(info.model, f.name)]
        raise TrainingError(f"cannot resume {run} with another architecture ({'; '.join(diff)}): "
                            f"drop those options or start a new run")
    if old.vocab != info.vocab:
        raise TrainingError(f"cannot resume {run}: the dataset's vocabulary differs from the run's "
                            f"({len(info.vocab)} vs {len(old.vocab)} tokens): use the dataset it was trained on")
    info.training = {**old.training, **info.training}



class InterruptGate:
    """Interrupts taken between training iterations only. While the gate is up, a SIGINT or
    SIGTERM with a Python handler (the CLI turns both into KeyboardInterrupt) is held, and
    open(), called before each iteration, hands it to its handler. An iteration is so applied
    entirely or not at all: an interrupt inside one would leave the weights, the optimizer or the
    random state part-way, and the checkpoint saved then would not resume as the uninterrupted
    run goes on. close() puts the handlers back (a signal still held is raised again). Outside
    the main thread no signal arrives and the gate does nothing."""

    def __init__(self):
        self.held: list[int] = []
        self.handlers = {}
        if threading.current_thread() is threading.main_thread():
            self.handlers = {s: h for s in (signal.SIGINT, signal.SIGTERM) if callable(h := signal.getsignal(s))}
        for s in self.handlers:
            signal.signal(s, lambda signum, frame: self.held.append(signum))

    def open(self) -> bool:
        while self.held:
            signum = self.held.pop(0)
            self.handlers[signum](signum, None)
        return True

    def close(self) -> None:
        for s, handler in self.handlers.items():
            signal.signal(s, handler)
        held, self.held, self.handlers = self.held, [], {}
        for signum in held:
            signal.raise_signal(signum)
