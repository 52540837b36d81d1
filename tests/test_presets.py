"""Presets: every file parses, says what it is, resolves to its lab's values, and trains.

Each preset runs end to end on a small made-up corpus with its length cut to 3 iterations
and its sizes shrunk by flags, while what makes it that lab (level, lines, batching, engine,
one-hot input, loss position) stays as the preset sets it.
"""

from __future__ import annotations

import random
import tomllib
from importlib import resources

import pytest

import rnntext
from rnntext.cli import main
from rnntext.config import AUTO, Config, merge, preset_description, preset_names, read_toml, resolve
from rnntext.errors import ConfigError

LABS = ("caffe-lstm", "caffe-lstm-multilayer", "tf-words", "keras-chars", "keras-captions", "numpy-chars")
RECIPES = ("char-small", "char-large", "word-medium")


def _raw(name: str) -> dict:
    return tomllib.loads(resources.files("rnntext.presets").joinpath(f"{name}.toml").read_text("utf-8"))


def test_every_named_preset_exists():
    assert set(LABS + RECIPES) <= set(preset_names())


@pytest.mark.parametrize("name", LABS + RECIPES + ("min-chars",))
def test_preset_parses_and_describes_itself(name):
    raw = _raw(name)
    description = raw["description"]
    assert isinstance(description, str) and 10 < len(description) <= 120 and "\n" not in description
    assert preset_description(name) == description
    assert set(raw) <= {"description", "lab", "data", "model", "train", "sample"}
    resolve(preset=name)  # unknown keys and out-of-range values would raise here


def test_caffe_lstm_values():
    cfg = resolve(preset="caffe-lstm")
    d, m, t, s = cfg.data, cfg.model, cfg.train, cfg.sample
    assert (d.level, d.lowercase, d.max_chars) == ("char", True, 50000)
    assert (m.cell, m.num_layers, m.hidden_sizes, m.dropout) == ("lstm", 1, (256,), 0.35)
    assert m.embed_size > 0  # an Embed layer, not one-hot
    assert (t.batching, t.batch_size, t.optimizer, t.lr, t.beta1, t.weight_decay) == ("streams", 250, "adam", 0.001, 0.2, 1e-4)
    assert (t.lr_schedule, t.lr_gamma, t.lr_power, t.clip_norm) == ("inv", 1e-5, 0.75, 1.0)
    assert (t.max_iters, t.checkpoint_every, t.log_every) == (6000, 2000, 100)
    assert (s.greedy, s.length, s.unknown) == (True, 1000, "replace: ")


def test_caffe_multilayer_is_caffe_with_two_layers():
    one, two = resolve(preset="caffe-lstm"), resolve(preset="caffe-lstm-multilayer")
    assert two.model.num_layers == 2 and two.model.hidden_sizes == (256, 256)
    assert one.model.num_layers == 1
    assert one.data == two.data and one.train == two.train and one.sample == two.sample
    assert {k: v for k, v in vars(one.model).items() if k != "num_layers"} == \
           {k: v for k, v in vars(two.model).items() if k != "num_layers"}


def test_tf_words_values():
    cfg = resolve(preset="tf-words")
    d, m, t = cfg.data, cfg.model, cfg.train
    assert (d.level, d.max_vocab) == ("word", 0)
    assert (m.num_layers, m.hidden_size, m.hidden_sizes) == (2, (1024, 512), (1024, 512))
    assert (t.batching, t.seq_len, t.loss_on) == ("windows", 7, "last")
    assert (t.optimizer, t.lr, t.alpha) == ("rmsprop", 0.001, 0.9)
    assert (t.log_every, t.eval_every) == (1000, 1000)


def test_keras_chars_values():
    cfg = resolve(preset="keras-chars")
    d, m, t = cfg.data, cfg.model, cfg.train
    assert d.keep == "[\\nA-Za-z0-9 ,.:;?!-]" and d.lowercase and d.val_frac == 0.2
    assert (m.num_layers, m.hidden_sizes, m.embed_size, m.dropout) == (1, (128,), 0, 0.5)
    assert (t.batching, t.seq_len, t.stride, t.batch_size, t.optimizer) == ("windows", 100, 1, 256, "adam")
    assert (t.sample_every, t.sample_length, t.sample_temperatures) == (1, 100, (0.5, 1.2))
    assert t.checkpoint_every == 0  # checkpoints at validations; best.safetensors holds the best


def test_keras_captions_values():
    cfg = resolve(preset="keras-captions")
    m, t = cfg.model, cfg.train
    assert cfg.data.lines and cfg.data.level == "char"
    assert (m.num_layers, m.hidden_sizes, m.embed_size) == (1, (128,), 0)
    assert (t.loss_on, t.optimizer, t.lr, t.batch_size) == ("all", "rmsprop", 0.001, 128)


def test_numpy_chars_values():
    t, m = resolve(preset="numpy-chars").train, resolve(preset="numpy-chars").model
    assert t.engine == "numpy" and (m.num_layers, m.hidden_sizes) == (2, (256, 256))
    assert (t.batching, t.seq_len, t.stride, t.batch_size) == ("windows", 25, 0, 64)
    assert (t.optimizer, t.lr, t.lr_schedule, t.lr_gamma) == ("adam", 1e-3, "exp", 0.99)
    assert (t.clip_norm, t.weight_decay, t.sample_every) == (50.0, 1e-2, 1)


def test_recipe_values():
    small, large, word = (resolve(preset=n) for n in RECIPES)
    assert (small.model.hidden_sizes, small.model.embed_size, small.train.seq_len, small.train.batch_size) == \
           ((256, 256), 64, 50, 32)
    assert (small.model.dropout, small.model.weight_drop, small.train.lr_schedule) == (AUTO, AUTO, "auto")  # by the data
    assert (small.train.optimizer, small.train.lr, small.train.clip_norm) == ("adamw", 3e-3, 5.0)
    assert sum(large.model.hidden_sizes) > sum(small.model.hidden_sizes) and large.train.batch_size > 64
    assert word.data.level == "word" and word.model.tie_weights
    assert (word.model.hidden_sizes, word.model.embed_size, word.model.dropout) == ((256, 256), 256, 0.4)
    assert (word.model.locked_dropout, word.model.input_dropout, word.model.weight_drop) == (True, 0.4, 0.3)
    assert (word.train.seq_len, word.train.batch_size, word.train.optimizer, word.train.lr_schedule) == \
           (35, 20, "adamw", "auto")


def test_min_chars_values():
    m, t = resolve(preset="min-chars").model, resolve(preset="min-chars").train
    assert (m.cell, m.hidden_sizes, m.embed_size, m.dropout, m.weight_drop) == ("mingru", (256,) * 4, 256, 0.1, 0.0)
    assert (t.seq_len, t.batch_size, t.optimizer, t.lr, t.lr_schedule) == (128, 32, "adamw", 3e-3, "auto")


def test_flags_override_presets_and_presets_override_defaults(tmp_path):
    cfg = resolve(preset="caffe-lstm", overrides={"batch_size": 8, "lr_schedule": "constant", "greedy": False,
                                                   "hidden_size": "32", "lowercase": False})
    assert (cfg.train.batch_size, cfg.train.lr_schedule, cfg.sample.greedy) == (8, "constant", False)
    assert cfg.model.hidden_sizes == (32,) and not cfg.data.lowercase
    assert cfg.train.beta1 == 0.2 and cfg.data.max_chars == 50000  # the rest of the preset stays
    assert Config().train.beta1 == 0.9  # ... and it did override a default
    config_file = tmp_path / "c.toml"
    config_file.write_text("[train]\nbatch_size = 16\nlr = 0.01\n", encoding="utf-8")
    cfg = resolve(preset="caffe-lstm", config_file=config_file, overrides={"lr": 0.5})
    assert (cfg.train.batch_size, cfg.train.lr, cfg.train.beta1) == (16, 0.5, 0.2)
    cfg = resolve(preset="tf-words", overrides={"hidden_size": (64, 32), "seq_len": 3})
    assert cfg.model.hidden_size == (64, 32) and cfg.train.seq_len == 3 and cfg.train.loss_on == "last"


def test_unknown_preset_and_unknown_override_are_errors():
    with pytest.raises(ConfigError, match="unknown preset"):
        resolve(preset="no-such-lab")
    with pytest.raises(ConfigError, match="hiden_size"):
        resolve(preset="char-small", overrides={"hiden_size": 3})


# -- every preset end to end ---------------------------------------------------------------------

SUBJECTS = ["the old sailor", "a small dog", "my sister", "the tired farmer", "our teacher", "the red fox",
            "a quiet child", "the baker", "two birds", "the king", "an honest man", "the river"]
VERBS = ["walked to", "looked at", "dreamed of", "ran past", "sang about", "waited near", "talked to",
         "painted", "found", "remembered"]
OBJECTS = ["the green hill", "a wooden boat", "the bright market", "an empty house", "the cold sea",
           "a long road", "the little garden", "the village bell", "a broken clock", "the morning train"]
ENDINGS = [".", ".", ".", "!", "?", ", and then it rained.", "; nobody knew why.", " at noon.", " (again).",
           " \"slowly,\" she said.", " - it's true."]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A few hundred made-up English sentences, one per line (the captions preset needs lines);
    capitals, quotes and brackets give the Keras filter and the lowercasing something to do."""
    rng = random.Random(8)
    lines = []
    for _ in range(300):
        sentence = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}{rng.choice(ENDINGS)}"
        lines.append(sentence[0].upper() + sentence[1:])
    path = tmp_path_factory.mktemp("presets") / "sentences.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SMALL = {  # sizes only: the level, lines, batching, engine and one-hot input stay the preset's
    "caffe-lstm": dict(hidden_size=16, embed_size=8, batch_size=4, seq_len=16),
    "caffe-lstm-multilayer": dict(hidden_size=16, embed_size=8, batch_size=4, seq_len=16),
    "tf-words": dict(hidden_size=(16, 12), embed_size=8, batch_size=4),
    "keras-chars": dict(hidden_size=16, batch_size=4, seq_len=20),
    "keras-captions": dict(hidden_size=16, batch_size=4, seq_len=40),
    "numpy-chars": dict(hidden_size=16, embed_size=8, batch_size=4, seq_len=10),
    "char-small": dict(hidden_size=16, embed_size=8, batch_size=4, seq_len=16),
    "char-large": dict(hidden_size=16, embed_size=8, batch_size=4, seq_len=16),
    "word-medium": dict(hidden_size=16, embed_size=16, batch_size=4, seq_len=10),
    "demo": dict(hidden_size=16, embed_size=8, batch_size=4, seq_len=16),
    "min-chars": dict(hidden_size=16, embed_size=8, batch_size=4, seq_len=16),
}


def test_every_preset_has_a_small_version():
    assert set(SMALL) == set(preset_names())


@pytest.mark.parametrize("name", sorted(SMALL))
def test_preset_trains_and_samples(name, corpus, tmp_path):
    run = tmp_path / "run"
    result = rnntext.train(str(corpus), run, preset=name, max_iters=3, eval_every=3, quiet=True,
                           sample_length=20, eval_tokens=2000, **SMALL[name])
    assert result.iterations == 3 and result.stopped_by == "max_iters"
    assert result.val is not None and result.best_val_loss is not None
    assert (run / "best.safetensors").is_file() and (run / "model.safetensors").is_file()

    preset, used = resolve(preset=name), merge(Config(), read_toml(run / "config.toml"))
    for section, key in [("data", "level"), ("data", "lines"), ("train", "batching"), ("train", "engine"),
                         ("model", "embed_size"), ("model", "num_layers"), ("train", "loss_on")]:
        if key != "embed_size" or getattr(preset.model, key) == 0:
            assert getattr(getattr(used, section), key) == getattr(getattr(preset, section), key), key
    assert used.train.max_iters == 3 and used.train.batch_size == 4

    model = rnntext.load(run)
    text = model.generate(length=20, seed=1)
    assert isinstance(text, str)
    if used.data.lines:
        assert model.lines and "\n" not in text  # one line, from its start token to (at most) its end
    elif used.data.level == "word":
        assert model.vocab.level == "word" and len(text.split()) >= 1
    else:
        assert len(text) == 20
    if used.data.lowercase:
        assert not any(c.isupper() for c in model.vocab.tokens if len(c) == 1)


@pytest.mark.parametrize("name", ["caffe-lstm", "caffe-lstm-multilayer"])
def test_caffe_streams_fit_its_own_50000_characters(name, corpus, tmp_path):
    """The lab's 250 streams and our T must fit the text the preset itself keeps."""
    text = corpus.read_text(encoding="utf-8")
    big = tmp_path / "big.txt"
    big.write_text(text * (60000 // len(text) + 1), encoding="utf-8")
    result = rnntext.train(str(big), tmp_path / "run", preset=name, max_iters=1, eval_every=1, quiet=True,
                           sample_every=0, hidden_size=8, embed_size=4)
    used = merge(Config(), read_toml(tmp_path / "run" / "config.toml"))
    assert result.iterations == 1 and used.train.batch_size == 250 and used.data.max_chars == 50000


def test_keras_filter_and_caffe_sampling_defaults(corpus, tmp_path):
    rnntext.train(str(corpus), tmp_path / "k", preset="keras-chars", max_iters=1, eval_every=1, quiet=True,
                  sample_every=0, **SMALL["keras-chars"])
    symbols = set(rnntext.load(tmp_path / "k").vocab.tokens)
    assert symbols <= set("\nabcdefghijklmnopqrstuvwxyz0123456789 ,.:;?!-")
    assert not symbols & set("\"'()ABC")  # the corpus has them; the lab's filter drops them
    assert {"a", ".", "\n", " "} <= symbols

    rnntext.train(str(corpus), tmp_path / "c", preset="caffe-lstm", max_iters=1, eval_every=1, quiet=True,
                  sample_every=0, **SMALL["caffe-lstm"])
    model = rnntext.load(tmp_path / "c")
    sample = resolve(preset="caffe-lstm").sample
    options = dict(greedy=sample.greedy, unknown=sample.unknown, length=20)
    greedy = model.generate("The Old Sailor & ", **options)  # capitals and '&' become spaces
    assert len(greedy) == 20 and greedy == model.generate("The Old Sailor & ", seed=99, **options)


def test_cli_lists_every_preset_with_its_description(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out.splitlines()
    for name in preset_names():
        line = next(line for line in out if line.split()[0] == name)
        assert preset_description(name) in line


def test_cli_preset_with_flags(corpus, tmp_path, capsys):
    run = tmp_path / "words"
    argv = ["train", str(corpus), "-o", str(run), "--preset", "tf-words", "--hidden-size", "16,12", "--embed-size", "8",
            "--batch-size", "4", "--max-iters", "2", "--eval-every", "2", "--sample-length", "5", "--quiet"]
    assert main(argv) == 0
    used = merge(Config(), read_toml(run / "config.toml"))
    assert used.model.hidden_size == (16, 12) and used.train.seq_len == 7 and used.train.optimizer == "rmsprop"
    assert "2 iterations" in capsys.readouterr().out


def test_run_sample_defaults_and_prime_from(tmp_path, capsys):
    """A preset's [sample] section becomes the run's sampling defaults; --prime-from picks a seeded prime."""
    from rnntext.cli import main

    text = tmp_path / "t.txt"
    text.write_text("the cat sat on the mat and the dog sat on the log.\n" * 40)
    other = tmp_path / "other.txt"
    other.write_text("A Book With Capitals, which the model never saw: Zebra Quartz.\n" * 3)
    run = tmp_path / "run"
    rnntext.train(str(text), run, preset="caffe-lstm", max_iters=2, batch_size=4, seq_len=16, hidden_size=(16,),
                  embed_size=8, max_chars=0, quiet=True)
    outputs = []
    for seed in ("1", "2"):
        assert main(["sample", str(run), "--prime-from", str(other), "--length", "15", "--seed", seed]) == 0
        outputs.append(capsys.readouterr().out)
    primes = [o[:50] for o in outputs]
    assert primes[0] != primes[1] and all(p in other.read_text().lower() for p in primes)  # lowercased as trained
    assert main(["sample", str(run), "--prime", "ZZ top", "--length", "10", "--seed", "1"]) == 0
    greedy_a = capsys.readouterr().out
    assert main(["sample", str(run), "--prime", "ZZ top", "--length", "10", "--seed", "9"]) == 0
    assert capsys.readouterr().out == greedy_a  # greedy (the preset's default): the seed does not matter
    assert main(["sample", str(run), "--prime", "ZZ top", "--length", "10", "--greedy", "--unknown", "error"]) == 2
