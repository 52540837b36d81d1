"""The training loop, written out plainly and engine-neutral.

Per iteration: pick the window of every stream (the hidden state carries over between windows
and resets at each epoch start), set the learning rate from the schedule, take one engine step.
Around it: metrics lines, validation, best-weights tracking, checkpoints, samples, stopping
rules (iterations, epochs, seconds, early stopping), Ctrl-C and non-finite losses.
Reporting goes to an optional `report(event: dict)` function (the CLI draws the progress bar)
and to `logging`; this module never prints.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path

import numpy as np

from rnntext.config import Config
from rnntext.data.batches import LabelIndex, LineBatches, StreamBatches, WindowBatches
from rnntext.errors import RunError, TrainingError
from rnntext.faces import ask
from rnntext.model import checkpoint, layout, records, saved
from rnntext.options import choose_engine
from rnntext.text import levels
from rnntext.training import budget as budget_mod
from rnntext.training import distributed
from rnntext.training.budget import Budget, Pace
from rnntext.training.distributed import SINGLE
from rnntext.training.lifecycle import InterruptGate
from rnntext.training.schedules import Plateau, follows_budget, lr_at
from rnntext.training.threads import ThreadTuner

log = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainResult:
    run_dir: Path
    iterations: int
    epoch: float
    best_val_loss: float | None
    val: dict | None
    elapsed_s: float
    stopped_by: str
    removed: tuple[str, ...] = ()  # what --force (or starting over an unfinished run) removed from the run directory
    time_left: float = 0.0  # seconds of this session's --time-limit not used (an interrupted run's to resume with)


def make_batches(cfg: Config, dataset, split: str, vocab, world=SINGLE):
    """The batch layout for a split: line samples, windows, or streams (validation: streams
    or non-overlapping windows, so every validation sees the same tokens)."""
    tc, tokens, n = cfg.train, dataset.split(split), dataset.size(split)
    segments = dataset.segments(split)
    labels = LabelIndex(segments) if segments is not None and len(segments) else None
    if dataset.meta.get("data", {}).get("lines"):
        start, end = levels.of(vocab).line_ids(vocab)
        return LineBatches(tokens, tc.batch_size, tc.seq_len, start, end, tc.seed, split, labels)
    if tc.batching == "windows":
        stride = tc.stride if split == "train" else tc.seq_len
        return WindowBatches(tokens, tc.batch_size, min(tc.seq_len, n - 1), stride, tc.seed, tc.loss_on, split, labels)
    if split == "train":
        return StreamBatches(tokens, tc.batch_size, tc.seq_len, split, labels, world.streams(tc.batch_size))
    B = max(1, min(tc.batch_size, (n - 1) // (tc.seq_len + 1)))
    return StreamBatches(tokens, B, min(tc.seq_len, (n - 1) // B), split, labels)


def check_engine_options(cfg: Config) -> None:
    """What the chosen engine cannot do, refused before a run directory is touched."""
    if choose_engine(cfg.train.engine, cfg.train.device, cfg.train.precision, windows=True) == "numpy":
        from rnntext.engines.numpy.engine import check_supported

        return check_supported(cfg.model, cfg.train)
    from rnntext.engines.torch.engine import autocast_dtype, pick_device

    autocast_dtype(cfg.train.precision, pick_device(cfg.train.device))


def make_engine(cfg: Config, vocab_size: int, world=SINGLE):
    if choose_engine(cfg.train.engine, cfg.train.device, cfg.train.precision, windows=True) == "numpy":
        from rnntext.engines.numpy.engine import NumpyEngine
        from rnntext.errors import ConfigError

        if world.size > 1:
            raise ConfigError(f"engine: the numpy engine trains in one process: use {ask('engine', 'torch')} with {ask('nproc')}")
        return NumpyEngine(cfg.model, cfg.train, vocab_size)
    from rnntext.engines.torch.engine import TorchEngine

    return TorchEngine(cfg.model, cfg.train, vocab_size, world)


class Trainer:
    """One training session over a prepared dataset into a run directory."""

    def __init__(self, cfg: Config, dataset, run_dir: Path, info: saved.RunInfo, report=None, sampler=None,
                 world=SINGLE, budget: Budget | None = None):
        """budget: the session's time budget, started when the command began (rnntext.training.budget):
        --time-limit holds everything from there, preparing the data and the recipe's probe included."""
        self.cfg, self.tc, self.dataset, self.run, self.world = cfg, cfg.train, dataset, Path(run_dir), world
        if not world.main:  # only rank 0 reports, writes and samples
            report, sampler = None, None
        self.info, self.report, self.sampler = info, report or (lambda event: None), sampler
        if world.size > 1 and (cfg.data.lines or cfg.train.batching != "streams"):
            from rnntext.errors import ConfigError

            raise ConfigError(f"batching: multi-process training splits streams: use {ask('batching', 'streams')} without {ask('lines', True)}")
        self.batches = make_batches(cfg, dataset, "train", info.vocab, world)
        self.val = make_batches(cfg, dataset, "val", info.vocab) if dataset.size("val") > 1 else None
        self.engine = make_engine(cfg, len(info.vocab), world)
        self.iteration, self.best, self.bad_evals, self.val_count = 0, math.inf, 0, 0
        self.plateau = Plateau(self.tc)
        self.tokens_seen, self.elapsed_before = 0, 0.0
        self.budget = budget or Budget(self.tc.time_limit, time.monotonic())
        self.loss_sum, self.loss_n = 0.0, 0  # since the last metrics line (checkpointed: resumed logs match)

    # -- state -------------------------------------------------------------------------------
    def restore(self) -> None:
        tensors, state = checkpoint.read_checkpoint(self.run)
        try:
            self.engine.restore(tensors, state["engine"])
            self.iteration = int(state["iteration"])
            self.best = math.inf if state["best_val_loss"] is None else float(state["best_val_loss"])
            self.bad_evals, self.val_count = int(state["bad_evals"]), int(state["val_count"])
            self.plateau = Plateau(self.tc, **state["plateau"])
            self.tokens_seen, self.elapsed_before = int(state["tokens_seen"]), float(state["elapsed_s"])
            self.loss_sum, self.loss_n = float(state["loss_sum"]), int(state["loss_n"])
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as e:
            raise RunError(f"{self.run / layout.TRAINER} does not fit this run ({type(e).__name__}: "
                           f"{str(e)[:80]}): the checkpoint is damaged") from None
        if self.world.main:
            records.truncate_metrics(self.run, self.iteration)
        log.info("resumed %s at iteration %d", self.run, self.iteration)

    def save(self, elapsed: float) -> None:
        """Checkpoint (rnntext.model.checkpoint.save): one atomic trainer file first, then the latest weights and model.json."""
        tensors, engine_meta = self.engine.checkpoint()  # collective in a distributed run: every rank calls it
        if not self.world.main:
            return
        state = {"world_size": self.world.size, "iteration": self.iteration, "epoch": self.iteration / len(self.batches),
                 "batch": self.iteration % len(self.batches),
                 "best_val_loss": None if math.isinf(self.best) else self.best,
                 "bad_evals": self.bad_evals, "val_count": self.val_count, "plateau": self.plateau.state(),
                 "tokens_seen": self.tokens_seen, "elapsed_s": elapsed, "loss_sum": self.loss_sum,
                 "loss_n": self.loss_n, "engine": engine_meta, "config": self.cfg.to_dict(),
                 "budget": self.budget.record()}
        if self.threads.choices:
            self.info.training["threads"] = self.threads.choices
        self.info.training.update(iterations=self.iteration, epoch=state["epoch"],
                                  best_val_loss=None if math.isinf(self.best) else self.best,
                                  tokens_seen=self.tokens_seen, elapsed_s=round(elapsed, 2), engine=self.engine.name)
        checkpoint.save(self.run, self.info, self.engine.weights(), tensors, state, self.tc.keep_last)

    # -- the loop -------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        try:
            return self._fit()
        finally:
            if self.tensorboard is not None:
                self.tensorboard.close()

    def _fit(self) -> TrainResult:
        tc, nb = self.tc, len(self.batches)
        eval_every = max(1, round(tc.eval_every_epochs * nb)) if tc.eval_every_epochs else tc.eval_every
        if self.world.main:
            records.write_config(self.run, self.cfg)
        start, stopped_by = self.budget.started, None
        window_start, window_tokens = time.monotonic(), 0
        self.report({"kind": "start", "iteration": self.iteration, "batches_per_epoch": nb,
                     "max_iters": self._max_iters(), "time_limit": tc.time_limit})
        self.threads = ThreadTuner.for_engine(self.engine, tc.threads) if self.world.size == 1 else ThreadTuner([])
        self._by_time, trying = follows_budget(tc), self.threads.trying
        self.pace = Pace(self.info.training.get("recipe"), self.dataset.size("train"), self.report)
        last_saved = self._first = self.iteration
        self.budget.begin()
        if tc.tensorboard and self.world.main:
            from rnntext.training.tensorboard import TensorBoardWriter

            self.tensorboard = TensorBoardWriter(self.run)
        gate = InterruptGate()  # interrupts between iterations only: a checkpoint then resumes exactly
        try:
            while gate.open() and (stopped_by := self._stop_reason()) is None:
                lr, counted = self._step(nb)
                window_tokens += counted
                if self.iteration % tc.log_every == 0:
                    now = time.monotonic()
                    self._rate = window_tokens / max(now - window_start, 1e-9)
                    if not trying:
                        self.pace.add(now - window_start, window_tokens)
                    self._log({"iter": self.iteration, "epoch": round(self.iteration / nb, 4), "lr": lr,
                               "train_loss": self.loss_sum / self.loss_n, "tokens_per_s": self._rate,
                               "elapsed_s": round(self.elapsed_before + now - start, 3)})
                    window_start, window_tokens, self.loss_sum, self.loss_n = now, 0, 0.0, 0
                    self.threads.check()
                    self._estimate_reserve()
                    self.pace.check(self.budget, self.iteration / nb)
                    trying = self.threads.trying
                if eval_every and self.iteration % eval_every == 0:
                    self._validate(start)
                    last_saved = self.iteration
                elif tc.checkpoint_every and self.iteration % tc.checkpoint_every == 0:
                    self.save(self.elapsed_before + time.monotonic() - start)
                    last_saved = self.iteration
        except KeyboardInterrupt:
            stopped_by = "interrupt"
        finally:
            gate.close()
        if stopped_by != "interrupt" and (not eval_every or self.iteration % eval_every):
            self._validate(start)
        elif self.iteration != last_saved:
            self.save(self.elapsed_before + time.monotonic() - start)
        elapsed = self.elapsed_before + time.monotonic() - start
        result = TrainResult(self.run, self.iteration, self.iteration / nb, None if math.isinf(self.best) else self.best,
                             self._last_val, elapsed, stopped_by,
                             time_left=max(0.0, self.tc.time_limit - self.budget.spent()) if self.budget.limited else 0.0)
        self.report({"kind": "end", "result": result})
        return result

    def _step(self, nb: int) -> tuple[float, int]:
        """One training step on the next batch; returns its learning rate and the tokens it counted."""
        epoch, b = divmod(self.iteration, nb)
        if b == 0 or not self.batches.carries_state:
            self.engine.reset_state()  # a new epoch (or an independent batch) starts from zero
        x, y, mask, cond = self.batches.batch(b, epoch)
        lr = lr_at(self.tc, self.iteration, epoch, self.plateau.scale, self._progress if self._by_time else None)
        step_start = time.monotonic()
        loss = self.engine.train_step(x, y, lr, mask, cond)
        if not math.isfinite(loss):
            raise TrainingError(f"loss became {loss} at iteration {self.iteration + 1}: lower {ask('lr')} or set "
                                f"{ask('clip_norm')}; the last good checkpoint in {self.run} is kept")
        self.iteration += 1
        counted = (x.size if mask is None else int(mask.sum())) * self.world.size
        self.threads.after_step(time.monotonic() - step_start, counted)
        self.tokens_seen += counted
        self.loss_sum, self.loss_n = self.loss_sum + loss, self.loss_n + 1
        self.report({"kind": "step", "iter": self.iteration, "epoch": self.iteration / nb, "loss": loss})
        return lr, counted

    _last_val: dict | None = None
    tensorboard = None
    threads = ThreadTuner([])  # until fit() chooses

    _rate = 0.0  # training tokens per second of the last log window
    _progress = 0.0  # the share of the time budget spent, as rank 0's clock says (schedules follow it)
    _by_time = False  # the schedule follows the time budget

    def _estimate_reserve(self) -> None:
        """Before the first validation has been timed: keep back the validation tokens at twice the
        training speed (evaluation has no backward pass) and a second for the files."""
        if self._final_s is None and self.val is not None and self._rate:
            tokens = min(len(self.val) * self.val.B * self.val.T, self.tc.eval_tokens or math.inf)
            self.budget.keep_back(tokens / (2 * self._rate) + budget_mod.FILES_S)

    _final_s = None  # seconds the last validation and checkpoint took

    def _max_iters(self) -> int:
        limits = [self.tc.max_iters] if self.tc.max_iters else []
        if self.tc.epochs:
            limits.append(math.ceil(self.tc.epochs * len(self.batches)))
        return min(limits) if limits else 0

    def _stop_reason(self) -> str | None:
        limit = self._max_iters()
        if limit and self.iteration >= limit:
            return "max_iters" if limit == self.tc.max_iters else "epochs"
        if self.budget.limited and self._clock():
            return "time_limit"
        if self.tc.early_stop and self.bad_evals >= self.tc.early_stop:
            return "early_stop"
        return None

    def _clock(self) -> bool:
        """Read the time budget: set the schedule's progress and say whether time is up. Rank 0's
        clock decides for every rank (one broadcast a step): a rank stopping alone would leave the
        others waiting in the next gradient all-reduce, and ranks on other rates would drift apart.
        A time limit spent before the first step (preparing, the size probe) still gets one step
        and its checkpoint: a run that ends within its limit can always be sampled."""
        over = self.budget.over() and self.iteration > self._first
        code = distributed.broadcast_int(self.world, -1 if over else round(1e9 * (self.budget.progress() or 0.0)))
        if code >= 0:
            self._progress = code / 1e9
        return code < 0

    def _validate(self, start: float) -> None:
        """Validate, keep the best weights, checkpoint, and print samples every N validations."""
        began = time.monotonic()
        self._validate_and_save(start)
        self._final_s = time.monotonic() - began
        self.budget.measured_final(self._final_s)

    def _validate_and_save(self, start: float) -> None:
        if self.val is not None:
            max_batches = len(self.val)
            if self.tc.eval_tokens:
                max_batches = max(1, self.tc.eval_tokens // (self.val.B * self.val.T))
                max_batches = min(max_batches, len(self.val))
            total, correct, count = self.engine.evaluate(self.val, max_batches)
            metrics = levels.of(self.info.vocab).metrics(total / count)
            val = {"iter": self.iteration, "val_loss": metrics["loss"], "val_accuracy": correct / count}
            val |= {f"val_{k}": v for k, v in metrics.items() if k in ("bpc", "perplexity")}
            self._last_val = val
            self.val_count += 1
            improved = val["val_loss"] < self.best
            if improved:
                self.best, self.bad_evals = val["val_loss"], 0
                if self.world.main:
                    saved.write_model(self.run, self.info, self.engine.weights(), "best")
            else:
                self.bad_evals += 1
            if self.tc.lr_schedule == "plateau":
                self.plateau.observe(val["val_loss"])
            self._log(val | {"best": improved})
        self.save(self.elapsed_before + time.monotonic() - start)
        if self.sampler and self.val is not None and levels.of(self.info.vocab).shows_example:
            tokens = self.dataset.split("val")
            at = (self.val_count * 7919) % max(1, self.dataset.size("val") - 8)
            example = self.sampler.example(self.engine.weights(), np.asarray(tokens[at:at + 8]).astype(np.int64))
            self.report({"kind": "example", "iter": self.iteration, **example})
        if self.sampler and self.tc.sample_every and self.val_count % self.tc.sample_every == 0:
            weights = self.engine.weights()
            for temperature in self.tc.sample_temperatures:
                text = self.sampler(weights, temperature, self.tc.sample_length)
                self.report({"kind": "sample", "temperature": temperature, "text": text, "iter": self.iteration})

    def _log(self, record: dict) -> None:
        if not self.world.main:
            return
        records.append_metrics(self.run, record)
        if self.tensorboard is not None:
            self.tensorboard.log(record)
        self.report({"kind": "val" if "val_loss" in record else "log", **record})
        log.debug("%s", record)

