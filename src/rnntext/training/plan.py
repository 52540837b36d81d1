"""What a run chose and why: the record kept in model.json (`training.recipe`), and its words.

`recipe` gathers, when a run starts, the model (size, parameters), the default recipe's
choices and the reasons autosize gave (the data, the size probe's measured speeds), the
optimisation (batch, learning rate, schedule, threads, engine) and the stopping rules.
Training reports it first (the `plan` event) and `rnntext info` shows it, both through
`describe`: two lines of text. Nothing here prints.
"""

from __future__ import annotations

from rnntext.config import Config, layers_words
from rnntext.training.autosize import DATA_RATIO, DEFAULT_MAX

TRAIN_KEYS = ("batch_size", "seq_len", "optimizer", "lr", "lr_schedule", "cosine_iters", "threads", "engine",
              "precision")
STOP_KEYS = ("time_limit", "max_iters", "epochs", "early_stop", "eval_every", "eval_every_epochs")


def recipe(cfg: Config, vocab_size: int, train_tokens: int, why: dict | None, default_stop: bool) -> dict:
    """The record of a run's choices (JSON): autosize's `why` (what auto chose and from what) at
    the top, then the model, the optimisation and the stopping rules."""
    from rnntext.model.parameters import count_parameters

    m, t = cfg.model, cfg.train
    return {**(why or {}), "train_tokens": train_tokens, "parameters": int(count_parameters(m, vocab_size)),
            "model": {"cell": m.cell, "hidden_sizes": list(m.hidden_sizes), "embed_size": m.embed_size,
                      "dropout": m.dropout, "weight_drop": m.weight_drop},
            "train": {k: getattr(t, k) for k in TRAIN_KEYS},
            "stopping": {**{k: getattr(t, k) for k in STOP_KEYS}, "default": default_stop}}


def describe(rec: dict) -> list[str]:
    """Two lines: the model and why it is that size; the optimisation and when the run stops.
    A record of a run from before these were kept (autosize's reasons alone) gives what it holds."""
    lines = []
    if "model" in rec:
        m = rec["model"]
        layers = layers_words(m["hidden_sizes"])
        embed = f"embedding {m['embed_size']}" if m["embed_size"] else "one-hot input"
        lines.append(f"model: {layers} {m['cell']}, {embed}, {rec['parameters']:,} parameters{_size_reason(rec)}; "
                     f"dropout {m['dropout']:g}, weight drop {m['weight_drop']:g}{_dropout_reason(rec)}")
    else:  # a run recorded before the whole plan was: autosize's reasons alone
        size = f"auto size {rec['hidden_size']}{_size_reason(rec)}" if "hidden_size" in rec else "size given"
        dropout = (f"; dropout {rec['dropout']:g}, weight drop {rec['weight_drop']:g}{_dropout_reason(rec)}"
                   if "dropout" in rec else "")
        lines.append(f"model: {size}{dropout}")
    if "train" in rec:
        t = rec["train"]
        threads = t["threads"] or "auto (timed while training)"
        engine = "" if t["engine"] == "auto" else f", the {t['engine']} engine"
        lines.append(f"training: batch {t['batch_size']} x {t['seq_len']} steps, {t['optimizer']} lr {t['lr']:g}, "
                     f"{schedule_words(t, rec['stopping'], rec.get('resumed_schedule'))}, threads {threads}{engine}; "
                     f"{stopping_words(rec['stopping'])}")
    return lines


def _size_reason(rec: dict) -> str:
    rule = rec.get("rule")
    if not rule:
        return ""
    if rule != "data" and rule != "data and time":
        return f" (auto: {rule})"
    text = (f" (auto: the largest with at most {DATA_RATIO:g} recurrent parameters per training token, "
            f"{rec['train_tokens']:,}")
    if rule == "data":
        return text + f" tokens; without --time-limit at most {DEFAULT_MAX})"
    threads = {str(h): n for h, n in (rec.get("probe_threads") or {}).items()}
    speeds = ", ".join(f"{int(v):,} tokens/s at {h}{_on(threads.get(str(h)))}"
                       for h, v in sorted(rec["tokens_per_s"].items(), key=_num))
    return text + (f" tokens, that passes over them often enough in the time limit: this machine's probe measured "
                   f"{speeds} in {rec['probe_s']:g} s)")


def _num(item) -> int:
    return int(item[0])


def _on(threads: int | None) -> str:
    return f" ({threads} thread{'s' if threads > 1 else ''})" if threads else ""


def _dropout_reason(rec: dict) -> str:
    ratio, epochs = rec.get("recurrent_params_per_token"), rec.get("expected_epochs")
    if ratio is None:
        return ""
    passes = "" if epochs is None else f" and about {epochs:.3g} passes over them"
    return f" (auto, for {ratio:.3g} recurrent parameters per training token{passes})"


def schedule_words(train: dict, stop: dict, resumed: dict | None = None) -> str:
    """The learning-rate schedule as it will run (`auto` and a 0-length cosine follow a time
    limit's budget; auto without one is constant: rnntext.training.schedules); `resumed`: where a
    resumed run's budget-following cosine continues from."""
    kind = train["lr_schedule"]
    if kind not in ("auto", "cosine"):
        return f"{kind} schedule"
    if train["cosine_iters"]:
        return f"cosine over {train['cosine_iters']:,} iterations"
    if not stop["time_limit"]:
        return "constant rate"
    if not resumed or not resumed["scheduled_s"]:
        return "cosine over the time limit (reaching its floor at the deadline)"
    return (f"cosine over the time limit, continued: {resumed['scheduled_s']:g} s trained of about "
            f"{resumed['total_s']:g} s in all, so the rate starts at {resumed['lr_share']:.0%} of its peak and "
            f"reaches its floor at the new deadline")


def stopping_words(stop: dict) -> str:
    """When the run stops, in words."""
    rules = []
    if stop["time_limit"]:
        rules.append(f"after {stop['time_limit']:g} s")
    if stop["epochs"]:
        rules.append(f"after {stop['epochs']:g} epochs")
    if stop["early_stop"]:
        every = (f"every {stop['eval_every_epochs']:g} epochs" if stop["eval_every_epochs"]
                 else f"every {stop['eval_every']:,} iterations")
        rules.append(f"when validation loss has not improved for {stop['early_stop']} validations ({every})")
    if stop["max_iters"]:
        rules.append(f"at {stop['max_iters']:,} iterations")
    text = "stops " + (" or ".join(rules) if rules else "only when interrupted (Ctrl-C)")
    return text + (" (the default: no --time-limit, --max-iters or --epochs was given)" if stop["default"] else "")

