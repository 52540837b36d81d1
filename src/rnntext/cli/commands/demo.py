"""`rnntext demo`: train the demo preset (presets/demo.toml) on the built-in corpus, then sample.

Everything the demo does is in its preset: the recipe, the time limit, and the [sample]
section it prints with (prime, length, seed) at the run's sample temperatures.
"""

from __future__ import annotations

from pathlib import Path

from rnntext.cli.flags import add_option_flags
from rnntext.config import TrainConfig, resolve
from rnntext.errors import RunError
from rnntext.progress import TrainDisplay

HELP = "train on the built-in python-docs corpus for a minute and sample"
PRESET, CORPUS = "demo", "python-docs"


def add_arguments(p) -> None:
    add_option_flags(p, TrainConfig, names=("time_limit",), defaults={"time_limit": resolve(PRESET).train.time_limit})
    p.add_argument("-o", "--output", default="runs/demo", help="run directory (default: runs/demo; replaced each time)")


def run(args) -> int:
    from rnntext import api

    run_dir = Path(args.output)
    marker = run_dir / ".rnntext-demo"
    if run_dir.exists() and any(run_dir.iterdir()) and not marker.exists():
        raise RunError(f"{run_dir} exists and was not made by the demo: choose another -o")
    cfg = resolve(PRESET, overrides={"time_limit": args.time_limit})
    print(f"training a {cfg.model.num_layers}-layer {cfg.model.cell.upper()} on the built-in {CORPUS} corpus for "
          f"{cfg.train.time_limit:.0f} s ...", flush=True)
    display = TrainDisplay(quiet=False)
    with display:
        result = api.train(CORPUS, run_dir, force=True, preset=PRESET, time_limit=cfg.train.time_limit,
                           progress=display)
    marker.touch()
    val = result.val or {}
    print(f"\n{result.iterations} iterations in {result.elapsed_s:.0f} s: validation loss {val.get('val_loss', 0):.3f} "
          f"nats per character = {val.get('val_bpc', 0):.3f} bits per character")
    model = api.load(run_dir)  # its [sample] section is the preset's: the prime and length to show
    prime = model.sample_config().prime
    for temperature in cfg.train.sample_temperatures:  # at the preset's seed (a run's seed is each call's own)
        text = model.generate(temperature=temperature, seed=cfg.sample.seed)
        print(f"\n--- temperature {temperature} ---\n{prime}{text}")
    print(f"\nthe run is in {run_dir}: try `rnntext sample {run_dir} --prime 'The '` or `rnntext info {run_dir}`")
    return 0
