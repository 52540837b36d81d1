"""`rnntext gradcheck`: the NumPy engine's backward passes against numerical gradients."""

from __future__ import annotations

from rnntext import cells
from rnntext.config import CELLS

HELP = "check the NumPy engine's backward passes against numerical gradients"


def add_arguments(p) -> None:
    p.add_argument("--cell", nargs="+", default=list(CELLS), choices=CELLS, type=cells.canonical,
                   help=f"the cells to check{cells.alias_note()} (default: all)")
    p.add_argument("--num-layers", type=int, default=1)
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    p.add_argument("--embed-size", type=int, default=4, help="0 checks one-hot input")
    p.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    from rnntext.engines.numpy.gradcheck import format_report, passed, run_gradcheck

    ok = True
    for cell in args.cell:
        print(f"# {cell}, {args.num_layers} layer(s), {args.dtype}, embed_size {args.embed_size}")
        errors = run_gradcheck(cell, args.num_layers, args.dtype, args.embed_size, args.seed)
        print("\n".join(format_report(errors)))
        ok &= passed(errors, args.dtype)
    print("all relative errors within the threshold" if ok else "FAILED: some relative errors exceed the threshold")
    return 0 if ok else 1
