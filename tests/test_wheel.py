"""The wheel: `python -m build` makes a wheel and an sdist whose install works on its own.

The source is copied to a temporary folder first, so building writes nothing into the
checkout; build makes the wheel from the sdist, so both hold the package data. The wheel goes
into a fresh virtual environment that sees this environment's packages through a .pth file
(so torch and the rest are not downloaded) and is installed with `pip install --no-deps
--no-index`; then the installed `rnntext demo --time-limit 5` trains, `rnntext sample` samples
from what it left, and imports itself from the new environment, not from src/."""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("build") is None,
                                reason="building the wheel needs the `build` package (pip install build; "
                                       "it is in the dev extra)")

ROOT = Path(__file__).resolve().parents[1]


def run(cmd, cwd, env, timeout=120):
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd[0]} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(wheel, sdist) built from a copy of the source without build isolation (no download)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", tmp / "dist", src], tmp, clean_env())
    wheels, sdists = list((tmp / "dist").glob("*.whl")), list((tmp / "dist").glob("*.tar.gz"))
    assert len(wheels) == len(sdists) == 1
    return wheels[0], sdists[0]


def clean_env() -> dict:
    """This environment without what would import rnntext from the source tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    return {**env, "PYTHONNOUSERSITE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def test_the_wheel_holds_the_package_data(built):
    import zipfile

    names = set(zipfile.ZipFile(built[0]).namelist())
    for wanted in ("rnntext/presets/demo.toml", "rnntext/presets/word-medium.toml", "rnntext/serve/static/index.html",
                   "rnntext/serve/static/app.js", "rnntext/interop/web/runtime.js", "rnntext/interop/web/levels.js", "rnntext/interop/web/page.js",
                   "rnntext/interop/web/index.html", "rnntext/inspection/assets/inspect.html",
                   "rnntext/inspection/assets/inspect.js", "rnntext/inspection/assets/inspect.css"):
        assert wanted in names, wanted
    modules = {p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src/rnntext").rglob("*.py")}
    assert len(modules) > 60 and modules - names == set()  # every module, subpackages included
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    presets = {p.name for p in (ROOT / "src/rnntext/presets").glob("*.toml")}
    assert presets == {Path(n).name for n in names if n.startswith("rnntext/presets/") and n.endswith(".toml")}


def test_the_installed_wheel_trains_and_samples(built, tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, clean_env())
    py, bin_dir = venv / "bin" / "python", venv / "bin"
    ours = Path(run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path, clean_env()).strip())
    # This environment's package folders (torch, numpy, pip, ...) as plain path entries: the
    # .pth files in them, such as an editable install's, are not run; src/ is not among them.
    deps = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    (ours / "deps.pth").write_text("\n".join(deps) + "\n")
    env = clean_env()
    run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", built[0]], tmp_path, env)
    where = run([py, "-c", "import rnntext, rnntext.interop.web as w; print(rnntext.__file__); "
                           "print(len(w.asset('runtime.js')))"], tmp_path, env).split()
    assert Path(where[0]).is_relative_to(ours) and int(where[1]) > 1000
    # The demo as a user runs it (however busy the machine, a limit spent before training
    # still leaves a model of at least one step to sample).
    out = run([bin_dir / "rnntext", "demo", "--time-limit", "5", "-o", tmp_path / "demo"], tmp_path, env)
    assert "iterations" in out and (tmp_path / "demo" / "model.json").is_file()
    text = run([bin_dir / "rnntext", "sample", tmp_path / "demo", "--prime", "def ", "--length", "80", "--seed", "1"],
               tmp_path, env)
    assert text.startswith("def ") and len(text) >= len("def ") + 80
    assert all(c.isprintable() or c in "\n\t" for c in text)
    listed = {line.split()[0] for line in run([bin_dir / "rnntext", "presets"], tmp_path, env).splitlines()}
    assert {"demo", "word-medium", "char-small"} <= listed
