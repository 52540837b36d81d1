"""prepare, train --engine numpy, sample and eval work where torch cannot be imported."""

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
BLOCK_TORCH = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked for this test")
        return None
sys.meta_path.insert(0, _NoTorch())
"""


def test_numpy_only_workflow(tmp_path, corpus):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(BLOCK_TORCH)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{SRC}"}

    def rnntext(*args):
        out = subprocess.run([sys.executable, "-m", "rnntext", *map(str, args)], env=env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return out.stdout

    check = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True)
    assert check.returncode != 0 and "blocked" in check.stderr
    rnntext("prepare", corpus, "-o", tmp_path / "d.h5", "--val-frac", "0.1")
    out = rnntext("train", tmp_path / "d.h5", "-o", tmp_path / "run", "--engine", "numpy", "--max-iters", "40",
                  "--num-layers", "1", "--hidden-size", "32", "--embed-size", "8", "--seq-len", "16",
                  "--batch-size", "8", "--eval-every", "20", "--sample-every", "1", "--sample-length", "20")
    assert "40 iterations" in out and "sample at temperature 0.5" in out
    text = rnntext("sample", tmp_path / "run", "--prime", "the ", "--length", "30", "--seed", "3")
    assert text.startswith("the ") and len(text.rstrip("\n")) == 34
    assert "bits per character" in rnntext("eval", tmp_path / "run", corpus)
    assert "lstm_0" in rnntext("info", tmp_path / "run")
