"""The command line: parses flags, calls rnntext.api, prints. The only module that prints.

Flags are generated from the configuration dataclasses, so a field's name, default and help
text are the flag's. A user's mistake (RnntextError) prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import sys
from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np

from rnntext import __version__
from rnntext.config import CELLS, SECTIONS
from rnntext.errors import ConfigError, InputError, RnntextError, RunError

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (what, and where to look) and status 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_section_flags(parser: argparse.ArgumentParser, section: str, skip: tuple[str, ...] = ()) -> None:
    cls = SECTIONS[section]
    group = parser.add_argument_group(f"{section} options")
    for f in fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not MISSING else None
        help_text = f"{f.metadata.get('help', '')} (default: {_show(default)})"
        if isinstance(default, bool):
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            kind = str if isinstance(default, (tuple, str)) else type(default)
            group.add_argument(flag, dest=f.name, type=kind, default=None, metavar=f.name.upper(),
                               choices=f.metadata.get("choices"), help=help_text)


def _show(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else repr(value)


def section_values(args: argparse.Namespace, *sections: str) -> dict:
    names = {f.name for s in sections for f in fields(SECTIONS[s])}
    return {k: v for k, v in vars(args).items() if k in names and v is not None}


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", help="start from a named preset (`rnntext presets` lists them)")
    parser.add_argument("--config", help="a TOML file of options (applied after --preset, before flags)")


# -- subcommands ------------------------------------------------------------------------------

def cmd_prepare(args) -> int:
    from rnntext import api

    if args.from_format == "caffe-hdf5":
        return _import_caffe(args)
    summary = api.prepare(args.inputs, args.output, force=args.force, preset=args.preset, config=args.config,
                          **section_values(args, "data"))
    vocab = summary.pop("vocab")
    splits = summary["splits"]
    print(f"read {summary['tokens']:,} {vocab.level}s from {summary['sources']} source(s)")
    print(f"vocabulary: {len(vocab)} tokens (ids stored as {summary['dtype']})")
    if len(vocab) <= 200:
        print("  " + repr("".join(vocab.tokens)))
    print("splits: " + ", ".join(f"{k} {v:,}" for k, v in splits.items()))
    print(f"wrote {summary['path']}")
    return 0


def _import_caffe(args) -> int:
    from rnntext.config import resolve
    from rnntext.interop import import_caffe_hdf5

    if len(args.inputs) != 1:
        raise ConfigError("from: --from caffe-hdf5 reads one list file (LIST.txt)")
    data = resolve(args.preset, args.config, section_values(args, "data")).data
    s = import_caffe_hdf5(args.inputs[0], args.output, val_frac=data.val_frac, test_frac=data.test_frac,
                          force=args.force, vocab_file=args.vocab)
    print(f"read {s['tokens']:,} tokens from {s['files']} Caffe HDF5 file(s) ({s['streams']} streams x {s['steps']} steps)")
    print(f"vocabulary: {s['vocab_size']} tokens; splits: " + ", ".join(f"{k} {v:,}" for k, v in s["splits"].items()))
    print(f"wrote {s['path']}")
    return 0


def cmd_export(args) -> int:
    from rnntext.interop import export_caffe_hdf5, export_onnx

    if args.format == "caffe-hdf5":
        s = export_caffe_hdf5(args.source, args.output, streams=args.streams, steps=args.steps, split=args.split,
                              force=args.force, windows_per_file=args.windows_per_file)
        print(f"wrote {s['files']} files: {s['streams']} streams x {s['windows']} windows of {s['steps']} steps "
              f"({s['tokens']:,} tokens, {s['dropped']:,} dropped) -> {s['path']}; in Caffe: "
              f'hdf5_data_param {{ source: "{s["path"]}" batch_size: {s["steps"]} }}')
        return 0
    s = export_onnx(args.source, args.output, weights=args.weights, opset=args.opset, force=args.force,
                    verify=not args.no_verify)
    check = ("not verified (pip install onnxruntime)" if s["max_abs_diff"] is None
             else f"verified with onnxruntime: max abs logits difference {s['max_abs_diff']:.2e}")
    print(f"wrote {s['path']} (opset {s['opset']}, inputs {', '.join(s['inputs'])}); {check}")
    return 0


def run_torchrun(args) -> int:
    """`rnntext train --nproc N`: the same command under torchrun, N processes on this machine."""
    import subprocess

    argv, skip = [], False
    for item in args.argv:
        if skip:
            skip = False
        elif item == "--nproc":
            skip = True
        elif not item.startswith("--nproc="):
            argv.append(item)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.nproc}",
           "-m", "rnntext", *argv]
    code = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}).returncode
    if code not in (0, 130):
        print(f"rnntext train: error: a training process failed (torchrun exit status {code}); the last checkpoint "
              f"is intact: continue with `rnntext train -o {args.output} --resume --nproc {args.nproc}`", file=sys.stderr)
        return 1
    return code


STOP_SIGNALS = {"SIGINT": 130, "SIGTERM": 143}  # exit statuses 128 + the signal's number, as a shell reports them


def cmd_train(args) -> int:
    from rnntext import api

    if args.nproc > 1:
        return run_torchrun(args)
    import signal

    received: list[str] = []

    def stop(signum, frame):  # SIGTERM (kill, a job scheduler) ends training as Ctrl-C does: with a checkpoint
        received.append(signal.Signals(signum).name)
        raise KeyboardInterrupt

    # Python leaves SIGINT ignored when it started ignored (a background job): Ctrl-C or
    # `kill -INT` must still reach the trainer, which saves a checkpoint and stops.
    # Under torchrun, SIGTERM is how the launcher ends the other ranks after one failed: a
    # checkpoint needs every rank, so there it keeps its default meaning.
    signals = (signal.SIGINT,) if int(os.environ.get("WORLD_SIZE", "1")) > 1 else (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, stop) for s in signals}
    display = TrainDisplay(quiet=bool(args.quiet) or os.environ.get("RANK", "0") != "0")
    try:
        with display:
            result = api.train(args.inputs, args.output, resume=args.resume, force=args.force, preset=args.preset,
                               config=args.config, report=display, **section_values(args, "data", "model", "train"))
    except KeyboardInterrupt:  # before training started, or during the last save: the last checkpoint stands
        name = received[-1] if received else "SIGINT"
        print(f"rnntext train: stopped by {name} before a checkpoint could be saved; what {args.output} held is "
              f"intact", file=sys.stderr)
        return STOP_SIGNALS[name]
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 speaks
        _print_result(result, received[-1] if received else "SIGINT")
    return STOP_SIGNALS[received[-1] if received else "SIGINT"] if result.stopped_by == "interrupt" else 0


def _print_result(result, signal_name: str = "SIGINT") -> None:
    if result.removed:
        print(f"removed from {result.run_dir} (rnntext's files of the earlier run): {', '.join(result.removed)}")
    if result.stopped_by == "interrupt":
        what = "interrupted" if signal_name == "SIGINT" else f"stopped by {signal_name}"
        print(f"{what}: checkpoint saved at iteration {result.iterations}; continue with "
              f"`rnntext train -o {result.run_dir} --resume`")
        return
    val = result.val or {}
    parts = [f"{result.iterations} iterations ({result.epoch:.2f} epochs) in {result.elapsed_s:.0f}s, "
             f"stopped by {result.stopped_by}"]
    if val:
        parts.append(f"val loss {val['val_loss']:.4f} nats" + (f", {val['val_bpc']:.3f} bpc" if "val_bpc" in val else "")
                     + f", accuracy {val['val_accuracy']:.3f}")
    print("; ".join(parts))
    print(f"run directory: {result.run_dir}")


class TrainDisplay:
    """A rich progress bar on a terminal; plain log lines otherwise; nothing with --quiet."""

    def __init__(self, quiet: bool):
        self.quiet, self.bar, self.task, self.last_val = quiet, None, None, None
        self.tty = sys.stdout.isatty()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, event: dict) -> None:
        if self.quiet:
            return
        kind = event["kind"]
        if kind == "start" and self.tty:
            self._start_bar(event)
        elif kind == "log":
            self._log(event)
        elif kind == "val":
            self.last_val = event
            self._line(f"iter {event['iter']}: val loss {event['val_loss']:.4f}"
                       + (f" ({event['val_bpc']:.3f} bpc)" if "val_bpc" in event else
                          f" (perplexity {event.get('val_perplexity', math.nan):.1f})")
                       + f", accuracy {event['val_accuracy']:.3f}" + (" *best*" if event.get("best") else ""))
        elif kind == "example":  # the TensorFlow lab's display: words in, the true next word, the guess
            self._line(f"{event['context']} -> [{event['true']}] predicted [{event['predicted']}]")
        elif kind == "sample":
            self._line(f"--- sample at temperature {event['temperature']} ---\n{event['text']}\n---")

    def _start_bar(self, event) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        # The bar measures iterations when the run has an iteration limit, else seconds of a
        # time limit: either way the ETA column is meaningful.
        self.by_time = not event["max_iters"] and bool(event["time_limit"])
        total = event["time_limit"] if self.by_time else (event["max_iters"] or None)
        self.bar = Progress(TextColumn("iter {task.fields[iter]}"), BarColumn(), TextColumn("{task.fields[info]}"),
                            TimeElapsedColumn(), TimeRemainingColumn())
        self.task = self.bar.add_task("train", total=total, completed=0 if self.by_time else event["iteration"],
                                      info="", iter=event["iteration"])
        self.bar.start()

    def _log(self, event) -> None:
        val = f" val {self.last_val['val_loss']:.3f}" if self.last_val else ""
        info = f"loss {event['train_loss']:.3f}{val} | {event['tokens_per_s']:,.0f} tok/s | lr {event['lr']:.2g}"
        if self.bar is not None:
            done = event["elapsed_s"] if self.by_time else event["iter"]
            self.bar.update(self.task, completed=done, info=info, iter=event["iter"])
        else:
            print(f"iter {event['iter']} epoch {event['epoch']:.2f}: {info}", flush=True)

    def _line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, flush=True)


def cmd_gradcheck(args) -> int:
    from rnntext.engines.numpy import format_report, passed, run_gradcheck

    ok = True
    for cell in args.cell:
        print(f"# {cell}, {args.num_layers} layer(s), {args.dtype}, embed_size {args.embed_size}")
        errors = run_gradcheck(cell, args.num_layers, args.dtype, args.embed_size, args.seed)
        print("\n".join(format_report(errors)))
        ok &= passed(errors, args.dtype)
    print("all relative errors within the threshold" if ok else "FAILED: some relative errors exceed the threshold")
    return 0 if ok else 1


def _not_utf8(text: str) -> str | None:
    """Where text from argv or stdin held bytes that are not UTF-8 (Python decodes them to lone
    surrogates, "surrogateescape"): a few words saying so, or None when the text is sound."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        code = ord(text[e.start])
        what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X} (a lone surrogate)"
        return f"{what} at character {e.start} is not valid UTF-8"
    return None


def _prime(args) -> str:
    if args.prime is not None and args.prime_file is not None:
        raise ConfigError("prime: give --prime or --prime-file, not both")
    if args.prime_file is None:
        if args.prime and (bad := _not_utf8(args.prime)):
            raise InputError(f"prime: in --prime, {bad}: pass UTF-8 text (is the terminal set to UTF-8?)")
        return args.prime or ""
    try:
        return Path(args.prime_file).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"prime file {args.prime_file} does not exist") from None
    except UnicodeDecodeError as e:
        raise InputError(f"prime file {args.prime_file} is not valid UTF-8 at byte {e.start}: save it as UTF-8") from None


class TextSink:
    """Writes tokens to stdout as they come. Characters go out as they are; bytes through an
    incremental UTF-8 decoder; words and subwords by decoding the ids so far and writing what
    is new (their spacing depends on the neighbours)."""

    def __init__(self, model):
        import codecs

        self.model, self.level, self.ids, self.shown, self.count = model, model.vocab.level, [], 0, 0
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace") if self.level == "byte" else None

    def write(self, token_id: int) -> None:
        if self.level == "char":
            text = self.model.decode([token_id])
        elif self.decoder:
            text = self.decoder.decode(self.model.vocab.tokens[token_id].encode("latin-1"))
        else:
            self.ids.append(token_id)
            full = self.model.decode(self.ids)
            text, self.shown = full[self.shown:], len(full)
        sys.stdout.write(text)
        self.count += 1
        if "\n" in text or self.count % 32 == 0:
            sys.stdout.flush()


def cmd_sample(args) -> int:
    from rnntext import api
    from rnntext.generation import probabilities

    model = api.load(args.run, weights=args.weights)
    prime, options = _prime(args), section_values(args, "sample")
    cfg = model.sample_config(**options)  # the run's [sample] defaults (a preset's) under the flags
    options = dataclasses.asdict(cfg)
    if not prime and cfg.prime_from:
        prime = model.prime_from(cfg.prime_from, cfg.prime_length, cfg.seed)
    if args.verbose and options.get("num_samples", 1) > 1:
        raise ConfigError("verbose: shows one sample's probabilities: drop --num-samples")
    if args.show_probs:
        for token, p in model.next_tokens(prime, args.show_probs, options.get("unknown", "error"), args.condition):
            print(f"{token!r:>10} {p:.4f}")
    if options.get("length", 500) == 0:
        return 0
    vocab, steps, sink = model.vocab, [], TextSink(model)
    one_stream = not args.json and options.get("num_samples", 1) == 1
    prime_ids = model.encode(prime, options.get("unknown", "error"))[0] if prime else []  # errors before output
    if one_stream and not args.verbose:
        if vocab.level in ("char", "byte"):
            sys.stdout.write(prime)
        else:
            sink.ids = [int(i) for i in prime_ids]  # words: the prime's spacing joins the continuation's
    for streams, ids in model.stream(prime, engine=args.engine, device=args.device, condition=args.condition,
                                     precision=args.precision, **options):
        if args.verbose:
            if ids[0] < 0:
                break
            p = probabilities(streams.logits, options.get("temperature", 1.0) or 1.0)[0, ids[0]]
            print(f"{vocab.tokens[ids[0]]!r}\t{p:.4f}")
        elif one_stream:
            if ids[0] >= 0:
                sink.write(int(ids[0]))
        else:
            steps.append(ids)
    if one_stream and not args.verbose:
        print(flush=True)
    if steps:
        grid = np.stack(steps, axis=1)  # (B, length)
        for i, row in enumerate(grid):
            text = model.decode(row)
            if args.json:
                print(json.dumps({"sample": i, "prime": prime, "text": text}, ensure_ascii=False))
            else:
                print(f"--- sample {i + 1} ---\n{prime}{text}")
    return 0


def cmd_eval(args) -> int:
    from rnntext import api

    model = api.load(args.run, weights=args.weights)
    if args.novelty:
        return _print_novelty(model, args)
    if not args.files:
        raise ConfigError("files: name the text to evaluate on (or pass --novelty)")
    result = model.evaluate(model.read_text(args.files), unknown=args.unknown, condition=args.condition)
    result.setdefault("bpc", None)
    if args.json:
        print(json.dumps({k: result[k] for k in ("loss", "bpc", "perplexity", "accuracy", "tokens", "unknown")}))
        return 0
    bpc = f", {result['bpc']:.4f} bits per character" if result["bpc"] is not None else ""
    print(f"loss {result['loss']:.4f} nats per token{bpc}, perplexity {result['perplexity']:.2f}, "
          f"accuracy {result['accuracy']:.4f} over {result['tokens']:,} tokens ({result['unknown']} unknown)")
    return 0


def _print_novelty(model, args) -> int:
    """torch-rnn's novel-substring check: how much of what the model writes is not copied."""
    from rnntext.judge import model_novelty

    r = model_novelty(model, num_samples=args.samples, length=args.length, seed=args.seed,
                      temperature=args.temperature, condition=args.condition)
    if args.json:
        print(json.dumps({k: v for k, v in r.items() if k != "samples"}))
    else:
        print(f"novel {r['n']}-{r['unit']} n-grams: {r['novel']:,} of {r['ngrams']:,} ({r['novel_share']:.1%}) "
              f"in {args.samples} samples of {args.length} tokens at temperature {args.temperature}")
    return 0


def cmd_plot(args) -> int:
    from rnntext.training.plot import plot_run

    print(f"wrote {plot_run(args.run, args.output)}")
    return 0


def cmd_demo(args) -> int:
    from rnntext import api

    run = Path(args.output)
    marker = run / ".rnntext-demo"
    if run.exists() and any(run.iterdir()) and not marker.exists():
        raise RunError(f"{run} exists and was not made by the demo: choose another -o")
    print(f"training a 2-layer LSTM on the built-in python-docs corpus for {args.time_limit:.0f} s ...", flush=True)
    display = TrainDisplay(quiet=False)
    with display:
        result = api.train("python-docs", run, force=True, preset="demo", time_limit=args.time_limit, report=display)
    marker.touch()
    val = result.val or {}
    print(f"\n{result.iterations} iterations in {result.elapsed_s:.0f} s: validation loss {val.get('val_loss', 0):.3f} "
          f"nats per character = {val.get('val_bpc', 0):.3f} bits per character")
    model = api.load(run)
    for temperature in (0.5, 1.0):
        text = model.generate("def ", length=300, temperature=temperature, seed=1, unknown="skip")
        print(f"\n--- temperature {temperature} ---\ndef {text}")
    print(f"\nthe run is in {run}: try `rnntext sample {run} --prime 'The '` or `rnntext info {run}`")
    return 0


def cmd_serve(args) -> int:
    from rnntext.serve import run

    try:
        run(args.runs, args.host, args.port, max_length=args.max_length, max_samples=args.max_samples,
            max_prime_chars=args.max_prime_chars, time_limit_s=args.time_limit, max_concurrent=args.max_concurrent,
            max_queue=args.max_queue, header_timeout_s=args.header_timeout, body_timeout_s=args.body_timeout)
    except KeyboardInterrupt:  # uvicorn shuts down on Ctrl-C, then raises it again: the stop asked for
        pass
    return 0


def cmd_presets(args) -> int:
    from rnntext.config import preset_description, preset_names

    for name in preset_names():
        print(f"{name:24} {preset_description(name)}")
    return 0


CHAT_HELP = ("type text and press Enter for a continuation; settings: :temperature T, :length N, :top-k K, "
             ":top-p P, :seed S, :greedy on|off; :help; Ctrl-D to leave")


def cmd_chat(args) -> int:
    """The TensorFlow lab's prompt: type words, get the model's continuation."""
    from rnntext import api

    model = api.load(args.run, weights=args.weights)
    settings = {"length": args.length, "temperature": args.temperature, "top_k": 0, "top_p": 1.0, "seed": 0,
                "greedy": False}
    tty = sys.stdin.isatty()
    if tty:
        print(f"rnntext chat: {model.vocab.level}-level model from {args.run}; {CHAT_HELP}")
    # A line that is not UTF-8 then arrives with its bad bytes as lone surrogates, to be refused,
    # rather than as a UnicodeDecodeError out of input() that drops the rest of the buffered input.
    with contextlib.suppress(AttributeError, OSError, ValueError):  # not a text file, or already read from
        sys.stdin.reconfigure(errors="surrogateescape")
    while True:
        try:
            line = input("> " if tty else "")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        except UnicodeDecodeError as e:
            print(f"error: the input is not valid UTF-8 ({e.reason}): type UTF-8 text")
            continue
        if line.startswith(":"):
            print(_chat_setting(line, settings))
        elif line.strip():
            print(_chat_reply(model, line, settings), flush=True)


def _chat_reply(model, line: str, settings: dict) -> str:
    """The model's continuation of a typed line, or the one line that says why there is none."""
    if bad := _not_utf8(line):
        return f"error: {bad}: type UTF-8 text"
    try:
        ids, unknown = model.encode(line, "skip")
        note = ""
        if unknown:
            from rnntext.text.levels import lookup_tokens

            note = f"(not in the vocabulary, left out: {' '.join(lookup_tokens(model.vocab, line)[1])})\n"
        prime = model.decode(ids)
        return note + (model.decode(list(ids) + _continuation(model, prime, settings)) if prime
                       else "(nothing left to continue)")
    except RnntextError as e:
        return f"error: {e}"


def _continuation(model, prime: str, settings: dict) -> list[int]:
    steps = [int(ids[0]) for _, ids in model.stream(prime, unknown="skip", **settings) if ids[0] >= 0]
    return steps


def _chat_setting(line: str, settings: dict) -> str:
    name, _, value = line[1:].partition(" ")
    name = name.replace("-", "_")
    if name == "help" or name not in settings:
        return CHAT_HELP
    try:
        kind = type(settings[name])
        new = value.strip().lower() in ("on", "true", "1") if kind is bool else kind(value)
        from rnntext.config import SampleConfig

        SampleConfig(**{k: v for k, v in {**settings, name: new}.items() if k != "seed"})
    except (ValueError, RnntextError) as e:
        return f"error: {name}: {e}"
    settings[name] = new
    return f"{name} = {new}"


def cmd_info(args) -> int:
    from rnntext import api

    summary = api.load(args.run, weights=args.weights).summary()
    print(f"{'layer':32} {'output shape':18} {'parameters':>12}")
    print("-" * 64)
    for name, shape, n in summary["layers"]:
        print(f"{name:32} {shape:18} {n:>12,}")
    print("-" * 64)
    print(f"{'total':51} {summary['total_parameters']:>12,}")
    best = summary["best_val_loss"]
    print(f"vocabulary: {summary['vocab_size']} {summary['level']} tokens; trained {summary['iterations']} iterations"
          + (f" ({summary['epoch']:.2f} epochs)" if summary.get("epoch") else "")
          + (f"; best validation loss {best:.4f} nats" if best is not None else ""))
    return 0


# -- parser -----------------------------------------------------------------------------------

def build_parser() -> Parser:
    parser = Parser(prog="rnntext", description="Train recurrent language models on your own text and generate from them.")
    parser.add_argument("--version", action="version", version=f"rnntext {__version__}")
    parser.add_argument("-v", "--log-level", default="warning", choices=("debug", "info", "warning"),
                        help="library log level (default: warning)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser("prepare", help="read text and write a prepared HDF5 dataset",
                       description="Read text and write a prepared HDF5 dataset. Normalisation order: line ends to \\n, NFC, "
                                   "lowercase, keep, max-chars.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="text files, directories, or a built-in corpus (python-docs)")
    p.add_argument("-o", "--output", required=True, help="the dataset file to write (e.g. data.h5)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument("--from", dest="from_format", choices=("text", "caffe-hdf5"), default="text",
                   help="input format: text (default), or a Caffe HDF5 list file (LIST.txt) to import")
    p.add_argument("--vocab", help="with --from caffe-hdf5: the lab's JSON character dictionary (default: vocab.json "
                                   "beside the list)")
    add_config_flags(p)
    add_section_flags(p, "data")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("export", help="export a dataset to Caffe HDF5, or a run to ONNX",
                       description="caffe-hdf5 DATA.h5: the Caffe lab's input/cont/target_sequence T x N files and "
                                   "a list file. onnx RUN: a one-step model with the hidden state as input/output.")
    p.add_argument("format", choices=("caffe-hdf5", "onnx"))
    p.add_argument("source", help="a prepared dataset (caffe-hdf5) or a run directory (onnx)")
    p.add_argument("-o", "--output", required=True, help="output folder (caffe-hdf5) or .onnx file")
    p.add_argument("--streams", type=int, default=250, help="caffe-hdf5: parallel streams N (default: 250)")
    p.add_argument("--steps", type=int, default=200, help="caffe-hdf5: time steps T per window (default: 200)")
    p.add_argument("--split", default="train", choices=("train", "val", "test"), help="caffe-hdf5: which split")
    p.add_argument("--windows-per-file", type=int, default=None, help="caffe-hdf5: windows per HDF5 chunk file")
    p.add_argument("--weights", default="latest", choices=("latest", "best"), help="onnx: which weights")
    p.add_argument("--opset", type=int, default=17, help="onnx: opset version (default: 17)")
    p.add_argument("--no-verify", action="store_true", help="onnx: skip the onnxruntime check against torch")
    p.add_argument("--force", action="store_true", help="replace existing output")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("train", help="train a model into a run directory",
                       description="Train from a prepared dataset, or from text (prepared on the fly into RUN/data.h5). "
                                   "On --resume the run's config.toml is the base; length, schedule and logging may "
                                   "change, the architecture and vocabulary may not.")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="a dataset (.h5), text files, directories or python-docs")
    p.add_argument("-o", "--output", required=True, help="the run directory")
    p.add_argument("--resume", action="store_true", help="continue the run in -o exactly where it stopped")
    p.add_argument("--force", action="store_true", help="start over in a non-empty run directory")
    p.add_argument("--nproc", type=int, default=1, help="train with N processes on this machine (runs torchrun; "
                                                       "batch_size is the global batch, split over the processes)")
    add_config_flags(p)
    for section in ("data", "model", "train"):
        add_section_flags(p, section, skip=("labels",))
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sample", help="generate text from a trained model",
                       description="Generate text. The prime runs through the model once, then one step per token. "
                                   "Without a prime, sampling starts from a newline.")
    p.add_argument("run", metavar="RUN", help="the run directory")
    p.add_argument("--prime", help="text to start from")
    p.add_argument("--prime-file", help="a UTF-8 file whose text to start from")
    p.add_argument("--weights", default="latest", choices=("latest", "best"), help="which weights (default: latest)")
    p.add_argument("--json", action="store_true", help="print one JSON object per sample")
    p.add_argument("--show-probs", type=int, default=0, metavar="K", help="print the K most likely next tokens after the prime")
    p.add_argument("--verbose", action="store_true", help="print each generated token with its probability")
    p.add_argument("--engine", default="numpy", choices=("numpy", "torch"), help="numpy (fast, no torch) or torch (GPUs)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="device for --engine torch")
    p.add_argument("--precision", default="float32", choices=("float32", "bfloat16", "float16"),
                   help="--engine torch: matrix products in bf16/fp16 (many streams on AMX CPUs and GPUs; not "
                        "bit-identical to float32)")
    p.add_argument("--condition", metavar="LABEL", help="the label to generate under (models trained with "
                                                       "--condition-by)")
    add_section_flags(p, "sample")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("eval", help="loss, bits per character, perplexity and accuracy of a model on text")
    p.add_argument("run", metavar="RUN", help="the run directory")
    p.add_argument("files", nargs="*", metavar="FILE", help="text files or directories (normalised as in training)")
    p.add_argument("--weights", default="latest", choices=("latest", "best"), help="which weights (default: latest)")
    p.add_argument("--unknown", default=None, help="outside the vocabulary: by default symbols are skipped and words "
                                                    "become <unk>, both counted; or error, skip, replace:C")
    p.add_argument("--json", action="store_true", help="print one JSON object with loss, bpc, perplexity, accuracy, "
                                                       "tokens, unknown")
    p.add_argument("--condition", metavar="LABEL", help="evaluate under this label (models trained with --condition-by)")
    p.add_argument("--novelty", action="store_true", help="instead: the share of sampled 20-character substrings "
                                                         "(5-word n-grams) that never occur in the training text")
    p.add_argument("--samples", type=int, default=10, help="--novelty: samples to draw (default: 10)")
    p.add_argument("--length", type=int, default=500, help="--novelty: tokens per sample (default: 500)")
    p.add_argument("--temperature", type=float, default=1.0, help="--novelty: temperature (default: 1.0)")
    p.add_argument("--seed", type=int, default=0, help="--novelty: seed (default: 0)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("plot", help="draw training and validation loss against steps and time, with the learning rate")
    p.add_argument("run", metavar="RUN", help="the run directory")
    p.add_argument("-o", "--output", default=None, help="the PNG to write (default: RUN/curves.png)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("demo", help="train on the built-in python-docs corpus for a minute and sample")
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds of training (default: 60)")
    p.add_argument("-o", "--output", default="runs/demo", help="run directory (default: runs/demo; replaced each time)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("chat", help="an interactive prompt: type text, the model continues it")
    p.add_argument("run", metavar="RUN", help="the run directory")
    p.add_argument("--weights", default="latest", choices=("latest", "best"), help="which weights (default: latest)")
    p.add_argument("--length", type=int, default=20, help="tokens per continuation (default: 20)")
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (default: 0.8)")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("info", help="summarise a trained model: layers, shapes, parameters, training")
    p.add_argument("run", metavar="RUN", help="the run directory")
    p.add_argument("--weights", default="latest", choices=("latest", "best"), help="which weights (default: latest)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("gradcheck", help="check the NumPy engine's backward passes against numerical gradients")
    p.add_argument("--cell", nargs="+", default=list(CELLS), choices=CELLS)
    p.add_argument("--num-layers", type=int, default=1)
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    p.add_argument("--embed-size", type=int, default=4, help="0 checks one-hot input")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_gradcheck)

    p = sub.add_parser("serve", help="a web playground and an HTTP API for trained runs",
                       description="Serve the named runs (chosen by directory name) with a playground page at / and "
                                   "a JSON API under /v1 (docs at /docs). Needs the serve extra: "
                                   "pip install 'rnntext[serve]'.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories to serve")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--max-length", type=int, default=2000, help="most tokens per sample (default: 2000)")
    p.add_argument("--max-samples", type=int, default=16, help="most samples per request (default: 16)")
    p.add_argument("--max-prime-chars", type=int, default=10000, help="longest prime (default: 10000)")
    p.add_argument("--time-limit", type=float, default=30.0, help="seconds per request, queueing included (default: 30)")
    p.add_argument("--max-concurrent", type=int, default=2, help="generations at once (default: 2)")
    p.add_argument("--max-queue", type=int, default=32, help="requests waiting beyond those (default: 32)")
    p.add_argument("--header-timeout", type=float, default=5.0,
                   help="seconds for a request's headers; an idle connection is closed after it (default: 5)")
    p.add_argument("--body-timeout", type=float, default=10.0,
                   help="seconds for a request's body once its headers are in; slower gets 408 (default: 10)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("presets", help="list the presets")
    p.set_defaults(func=cmd_presets)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # usage errors, --help and --version: return the status in-process too
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except RnntextError as e:
        print(f"rnntext {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
