"""`rnntext info`: a trained model's layers, shapes, parameters and training, Keras-style."""

from __future__ import annotations

from rnntext.cli.flags import add_run, add_weights

HELP = "summarise a trained model: layers, shapes, parameters, training"


def add_arguments(p) -> None:
    add_run(p)
    add_weights(p)


def run(args) -> int:
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
