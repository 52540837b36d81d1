"""`rnntext info`: a trained model's layers, shapes, parameters and training, Keras-style."""

from __future__ import annotations

from rnntext.cli.flags import add_run, add_weights

HELP = "summarise a trained model: layers, shapes, parameters, training"


def add_arguments(p) -> None:
    add_run(p)
    add_weights(p)


def run(args) -> int:
    from rnntext.trained import Model

    summary = Model.load(args.run, args.weights).summary()
    print(f"{'layer':32} {'output shape':18} {'parameters':>12}")
    print("-" * 64)
    for name, shape, n in summary["layers"]:
        print(f"{name:32} {shape:18} {n:>12,}")
    print("-" * 64)
    print(f"{'total':51} {summary['total_parameters']:>12,}")
    best = summary["best_val_loss"]
    trained = f" in {duration(summary['elapsed_s'])}" if summary.get("elapsed_s") is not None else ""
    print(f"vocabulary: {summary['vocab_size']} {summary['level']} tokens; trained {summary['iterations']:,} iterations"
          + (f" ({summary['epoch']:.2f} epochs)" if summary.get("epoch") else "") + trained
          + (f"; best validation loss {best:.4f} nats" if best is not None else ""))
    if summary.get("recipe"):
        from rnntext.training.plan import describe

        print("\n".join(describe(summary["recipe"])))
    for choice in summary.get("threads") or []:  # each time the trainer chose its thread count
        timed = ", ".join(f"{n}: {speed:,} tokens/s" for n, speed in choice["tokens_per_s"].items())
        if choice.get("trial") is False:  # the machine was quiet: the full count, untried against fewer
            print(f"threads: {choice['threads']} ({timed}; other processes used {choice['other_cores']:.2f} "
                  f"cores: no trial)")
        else:
            print(f"threads: timed {timed}; kept {choice['threads']}")
    return 0


def duration(seconds: float) -> str:
    """3 min 12 s, 1 h 05 min, 42 s."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
