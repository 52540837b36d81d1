"""The trained model a user holds: `Model`, loaded from a run directory, samples, scores and
describes itself.

    model = Model.load("runs/shakespeare")          # rnntext.load does the same
    model.generate("ROMEO:", length=200, seed=3)    # the text; model.stream(...) yields it as written
    model.next_tokens("ROMEO:")                     # the likeliest next tokens
    model.evaluate(open("test.txt").read())         # loss, bpc or perplexity, accuracy
    model.summary()                                  # layers, parameters, what training chose

It is thin: the run's files are rnntext.model's, sampling runs on the engine the sampling
options choose (rnntext.sampling: the NumPy runtime of rnntext.generation for a few streams,
torch's batched sampler for many), scoring is rnntext.scoring's. Nothing here imports torch at
module level, so a trained model samples on a machine that has only NumPy.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from rnntext.config import DataConfig
from rnntext.engines.sampling_streams import open_streams
from rnntext.errors import ConfigError
from rnntext.inspection.recording import MAX_TOKENS
from rnntext.options import check_values
from rnntext.sampling import TOP_PROBS_NEXT, SampleConfig, call_options, check_unknown, run_defaults, sample_options
from rnntext.text import levels


class Model:
    """A trained model: its description (`info`, a rnntext.model.saved.RunInfo), its weights
    (PyTorch's names -> arrays) and the run's [sample] choices."""

    last_seed: int | None = None  # the seed the latest stream, stream_ids or generate call sampled with
    _open_streams = staticmethod(open_streams)  # where its streams come from (a test's slowed model wraps it)

    def __init__(self, info, weights, sample_defaults: dict | None = None):
        self.info, self.weights = info, weights
        # the run's config.toml [sample] (a preset's choices), less the seed: each call's own
        self.sample_defaults = run_defaults(sample_defaults or {})
        self._runtimes = {}

    def __repr__(self) -> str:
        """What the model is, as `rnntext info` says it: <rnntext.Model 2 x 256 lstm, char level,
        vocabulary 65, 4,000 iterations, best validation loss 1.4331, from runs/book>."""
        t, loss = self.info.training, self.info.training.get("best_val_loss")
        return (f"<rnntext.Model {self.info.model.shape()}, {self.vocab.level} level, vocabulary {len(self.vocab):,}, "
                f"{t.get('iterations', 0):,} iterations" + (f", best validation loss {loss:.4f}" if loss is not None else "")
                + f", from {self.info.path}>")

    @classmethod
    def load(cls, run_dir, weights: str = "latest") -> Model:
        """The model of a run directory: model.json, its latest weights (the best with
        weights='best') and its config.toml's [sample] section."""
        from rnntext.model.records import sample_defaults
        from rnntext.model.saved import read_info, read_weights

        info = read_info(run_dir)
        return cls(info, read_weights(info, weights), sample_defaults(info.path))

    @property
    def vocab(self):
        return self.info.vocab

    @property
    def level(self):
        """The token level (rnntext.text.levels): how this model's text is encoded and decoded."""
        return levels.of(self.vocab)

    @property
    def lines(self) -> bool:
        """A line-mode model: samples run from a start token to an end token."""
        return bool(self.info.data.get("lines"))

    def hidden_ids(self) -> tuple[int, ...]:
        """Ids never shown in generated text: line mode's start and end tokens."""
        return self.level.line_ids(self.vocab) if self.lines else ()

    def end_id(self) -> int | None:
        return self.level.line_ids(self.vocab)[1] if self.lines else None

    def start_ids(self) -> list[int]:
        """Where sampling starts without a prime: the start token in line mode, else a line end."""
        candidates = [self.level.line_start] if self.lines else self.level.restart_tokens
        return next(([self.vocab.id(t)] for t in candidates if t in self.vocab), [0])

    def encode(self, text: str, unknown: str = "error") -> tuple[np.ndarray, int]:
        """Ids of `text` and how many symbols (or words) were unknown: error, skip, or replace:C."""
        check_unknown(unknown)
        return levels.encode_with(self.vocab, text, unknown)

    def default_unknown(self) -> str:
        """For evaluation: words outside the vocabulary are <unk> (PTB practice); symbols are skipped."""
        return self.level.unknown_default

    def decode(self, ids) -> str:
        """Text of generated ids; start and end tokens and stop marks (-1) are dropped."""
        return levels.decode_ids(self.vocab, ids, self.hidden_ids())

    def decode_steps(self, steps, count: int, stop=(), partial: bool = False) -> list[str]:
        """The texts of `count` streams from what `stream` yielded: one (count,) id array per step.
        `stop`: the stop strings, each text ends before its first one; `partial`: the samples may go
        on, so a tail that could begin a stop string is held back (rnntext.generation.stops)."""
        from rnntext.generation.stops import cut

        texts = levels.decode_steps(self.vocab, steps, count, self.hidden_ids())
        return [cut(t, stop, partial) for t in texts] if stop else texts

    def decoder(self, stop=()):
        """A stream decoder for one sample shown as it is generated: `.feed(ids) -> str` gives the
        text the ids complete, `.flush() -> str` the rest (rnntext.text.levels.base.StreamDecoder);
        with `stop`, up to the first stop string, never showing it."""
        from rnntext.generation.stops import StopDecoder

        decoder = levels.decoder(self.vocab, self.hidden_ids())
        return StopDecoder(decoder, stop) if stop else decoder

    def label_id(self, condition: str | None) -> int | None:
        """The id of a conditioning label; a model with labels needs one (RunInfo.label_id)."""
        return self.info.label_id(condition)

    def sample_config(self, **options) -> SampleConfig:
        """The sampling options `options` ask for: SampleConfig's defaults < the run's [sample]
        section < `options` (None leaves a value to the layers under it). No seed is drawn."""
        return sample_options(self.sample_defaults, options)

    def sampling(self, prime: str | None = None, **options) -> SampleConfig:
        """The options one sampling call runs under, built once and handed on as they are
        (rnntext.sampling.call_options): sample_config's, with a fresh seed where none was given
        (the caller reports it) and a `prime_from` read into the prime, normalised as the
        training text was."""
        return call_options(self.sample_defaults, {**options, "prime": prime}, self._text_settings)

    def streams(self, num_samples: int = 1, engine: str | None = None, device: str | None = None, condition=None,
                precision: str | None = None, beam: int | None = None):
        """B = num_samples streams on the engine the sampling options choose (rnntext.sampling)."""
        cfg = self.sample_config(num_samples=1 if beam else num_samples, engine=engine, device=device,
                                 precision=precision, beam=beam or 0)
        return self._streams(cfg, num_samples, self.info.label_id(condition))

    def _streams(self, cfg: SampleConfig, width: int, label: int | None):
        return self._open_streams(cfg, width, label, self.info.model, len(self.vocab), self.weights, self._runtimes)

    def stream(self, prime: str = "", *, condition=None, **options) -> Iterator[str]:
        """The text of one sample as it is written: str pieces (a character, a word with its
        spacing, ...) that join to what `generate` returns for the same options and seed.
        Options are SampleConfig's; without a seed a fresh one is drawn (`last_seed`). Example:
        `for piece in model.stream("The ", length=40): print(piece, end="", flush=True)`.
        """
        cfg = self.sampling(prime or None, **options)
        if cfg.num_samples != 1:
            raise ConfigError("num_samples: stream() writes one sample: use generate(num_samples=N) for several")
        decoder = self.decoder(cfg.stop)
        for _, ids in self.steps(cfg, condition):
            if piece := decoder.feed(ids):
                yield piece
        if rest := decoder.flush():
            yield rest

    def stream_ids(self, prime: str = "", *, condition=None, **options):
        """The id-level generator under `stream`, `generate`, the CLI and the server: prime once,
        then yield (streams, ids (B,)) per step; -1 marks a stream that has stopped. Options are
        SampleConfig's (see `steps`); the seed follows rnntext.sampling.with_seed and is kept in
        `last_seed`."""
        yield from self.steps(self.sampling(prime or None, **options), condition)

    def steps(self, options: SampleConfig | dict, condition=None, check=None):
        """`stream_ids` on options: a SampleConfig built by `sampling`, or a dict as a caller gives
        them (the sample command's flags), built here once as `sampling` builds them. The streams
        open on the engine the options plan, the prime is encoded and run now (an unknown symbol is
        an error before any output); the rnntext.generation.calls.Steps returned holds the options
        (`cfg`), the likeliest next tokens after the prime when top_probs asks (`top`) and, iterated,
        (streams, ids (B,)) per step.

        `streams.logits` holds the logits the ids were drawn from. A stream that reaches a stop
        string stops; its text (decode_steps, decoder with `stop`) ends before the string. With
        `beam` the search runs first, then its num_samples best hypotheses come out step by step
        (streams.logits is then the search's last); `check()` is called before each of its steps
        (a server's deadline and cancel flag: it raises to end the search).
        """
        from rnntext.generation import calls

        label = self.info.label_id(condition)
        cfg = options if isinstance(options, SampleConfig) else \
            call_options(self.sample_defaults, options, self._text_settings)
        self.last_seed = cfg.seed
        own = levels.encode_with(self.vocab, cfg.prime, cfg.unknown)[0] if cfg.prime else np.array([], np.int64)
        streams = self._streams(cfg, cfg.beam or cfg.num_samples, label)
        end = self.end_id() if cfg.stop_at_end else None
        return calls.start(streams, cfg, own, np.array(self.start_ids()), self.vocab.tokens, end, self.decoder, check)

    @staticmethod
    def prime_key(cfg: SampleConfig) -> tuple:
        """What prime_ids reads of `cfg`: two options with the same key start from the same ids."""
        return cfg.prime, cfg.unknown

    def prime_ids(self, cfg: SampleConfig) -> np.ndarray:
        """The ids a sample under `cfg` (built by `sampling`) starts from: its prime, else start_ids."""
        ids = self.encode(cfg.prime, cfg.unknown)[0] if cfg.prime else np.array(self.start_ids())
        return ids if len(ids) else np.array(self.start_ids())

    def read_text(self, paths) -> str:
        """Text files or folders, read and normalised as the training text was (eval)."""
        from rnntext.text.read import read_all

        return read_all(paths, self._text_settings)

    @property
    def _text_settings(self) -> DataConfig:
        """How the training text was read and normalised: encoding, NFC, lowercasing, the keep filter."""
        keys = ("encoding", "errors", "keep_gutenberg", "nfc", "lowercase", "keep", "glob")
        return DataConfig(**{k: v for k, v in self.info.data.items() if k in keys})

    def generate(self, prime: str = "", *, condition=None, **options) -> str | list[str]:
        """Generated text after `prime` (a list when num_samples > 1). Options are SampleConfig's;
        without a seed a fresh one is drawn, kept in `last_seed` (pass it as `seed=` to have the
        same text again)."""
        cfg = self.sampling(prime or None, **options)
        texts = self.decode_steps([ids for _, ids in self.steps(cfg, condition)], cfg.num_samples, cfg.stop)
        return texts[0] if len(texts) == 1 else texts

    def next_tokens(self, prime: str = "", top_probs: int = TOP_PROBS_NEXT, unknown: str = "error",
                    condition=None) -> list[tuple[str, float]]:
        """The `top_probs` most likely next tokens after `prime`, with their probabilities."""
        from rnntext.generation.rules import probabilities, top_tokens

        check_values(SampleConfig, top_probs=top_probs, unknown=unknown)
        ids = self.encode(prime, unknown)[0] if prime else np.array(self.start_ids())
        streams = self.streams(1, condition=condition)
        logits = streams.prime(ids if len(ids) else self.start_ids())
        return [(self.vocab.tokens[i], p) for i, p in top_tokens(probabilities(logits)[0], top_probs)]

    def evaluate(self, text: str | None = None, unknown: str | None = None, chunk: int = 128, condition=None,
                 engine: str = "auto", precision: str = "auto") -> dict:
        """Loss (nats per token), bpc or perplexity, accuracy, tokens, unknowns and the precision
        used on `text`; with no text, on the run's own test split (its validation split when it
        has no test split), read from the dataset it was trained on, and the result names it
        ("split"). `engine` auto scores on torch when it is installed, else on the NumPy engine;
        on torch, `precision` auto autocasts as the trainer's validation does (bfloat16 where the
        machine computes it natively), "float32" gives the same number on every machine
        (rnntext.scoring says how the text is read). Unknown symbols are skipped, unknown words
        become <unk>, and both are counted (`unknown` can choose error, skip or replace:C; the
        options are rnntext.scoring.EvalConfig's, as `rnntext eval`'s flags).
        """
        from rnntext import scoring

        options = scoring.EvalConfig(engine=engine, precision=precision, unknown=unknown or "auto")
        how = options.plan()
        if text is None:
            ids, split = scoring.split_ids(self.info.training.get("dataset"))
            return {**scoring.score(self, ids, chunk, condition, how), "unknown": 0, **split}
        unknown = self.default_unknown() if options.unknown == "auto" else options.unknown
        ids, unknowns = self.encode(self.level.as_lines(text) if self.lines else text, unknown)
        return {**scoring.score(self, ids, chunk, condition, how), "unknown": unknowns}

    def activations(self, text: str | None = None, *, engine: str = "auto", condition=None, unknown: str = "error",
                    max_tokens: int | None = MAX_TOKENS):
        """What the network computes over `text` (the run's validation split without one), token by
        token: an rnntext.inspection.Activations, whose arrays are named "layer{k}.{part}" (the
        parts each cell exposes: h, c and gates i, f, g, o for the LSTM) and hold (T, H) values,
        with the likeliest next tokens and the probability of the true one. At most max_tokens
        tokens are read; `engine` auto is numpy, and torch computes the same arrays."""
        from rnntext.inspection import activations

        return activations(self, text, engine, condition, unknown, max_tokens)

    def find_units(self, text: str | None = None, *, top: int = 3, **options) -> list[dict]:
        """For each feature of `text` (inside quotes, bracket depth, position in the line, ...:
        rnntext.inspection.FEATURES), the `top` units whose activations correlate most with it
        (|Pearson r|), and whether one tracks it (|r| >= rnntext.inspection.TRACKS). Options are
        activations()'s."""
        from rnntext.inspection import inspect_text

        return inspect_text(self, text, page_tokens=0, top=top, **options).found

    def summary(self) -> dict:
        """Layers with output shapes and parameter counts, totals and training facts (Keras-style):
        iterations, epochs, seconds trained, best validation loss, what the run chose and why
        (`recipe`, rnntext.training.plan) and the thread counts it timed. The counts come from
        the parameter schema (rnntext.model.parameters.count_parameters)."""
        from rnntext.model.parameters import count_parameters

        m, V = self.info.model, len(self.vocab)
        layers = [("embedding", f"(B, T, {m.embed_size})", count_parameters(m, V, "embedding")) if m.embed_size
                  else ("one-hot", f"(B, T, {V})", 0)]
        for k, H in enumerate(m.hidden_sizes):
            layers.append((f"{m.cell}_{k}", f"(B, T, {H})", count_parameters(m, V, "rnn", k)))
            if m.dropout:
                layers.append((f"dropout_{k} ({m.dropout})", f"(B, T, {H})", 0))
        layers.append(("output" + (" (tied to embedding)" if m.tie_weights else ""), f"(B, T, {V})",
                       count_parameters(m, V, "output")))
        t = self.info.training
        return {"layers": layers, "total_parameters": count_parameters(m, V),
                "vocab_size": V, "level": self.vocab.level, "iterations": t.get("iterations", 0),
                "best_val_loss": t.get("best_val_loss"), "engine": t.get("engine"), "epoch": t.get("epoch"),
                "elapsed_s": t.get("elapsed_s"), "recipe": t.get("recipe"), "threads": t.get("threads")}
