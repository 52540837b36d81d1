"""`rnntext serve` refuses a bad number at start-up, before loading anything: one line, exit status 2."""

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'rnntext[serve]'")
pytest.importorskip("uvicorn", reason="the serve command needs uvicorn: pip install 'rnntext[serve]'")

from rnntext.cli import main  # noqa: E402


@pytest.mark.parametrize("flag, value", [
    ("--request-timeout", "nan"), ("--request-timeout", "inf"), ("--request-timeout", "-inf"),
    ("--request-timeout", "0"), ("--request-timeout", "-5"), ("--header-timeout", "nan"), ("--header-timeout", "0"), ("--body-timeout", "inf"),
    ("--body-timeout", "-1"), ("--port", "70000"), ("--port", "0"), ("--port", "-1"), ("--max-length", "0"),
    ("--max-samples", "-1"), ("--max-prime-chars", "0"), ("--max-batch", "0"), ("--max-concurrent", "0"), ("--max-queue", "0"),
    ("--max-top-probs", "0"),
])
def test_bad_numbers_are_one_line_and_exit_2(tmp_path, capsys, flag, value):
    # The run directory does not exist: the flag is checked first.
    code = main(["serve", str(tmp_path / "no-such-run"), f"{flag}={value}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("rnntext serve: error: ") and f"({flag})" in err and "must be" in err


@pytest.mark.parametrize("flag, value", [("--port", "http"), ("--max-queue", "1.5"), ("--request-timeout", "soon")])
def test_flags_that_are_not_numbers(tmp_path, capsys, flag, value):
    code = main(["serve", str(tmp_path), flag, value])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and flag in err


def test_ctrl_c_stops_the_server_without_a_traceback(tmp_path, capsys, monkeypatch):
    import rnntext.serve

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # what uvicorn raises again after its graceful shutdown

    monkeypatch.setattr(rnntext.serve, "run", interrupted)
    assert main(["serve", str(tmp_path)]) == 0 and capsys.readouterr().err == ""


def test_every_limit_has_its_flag_and_the_old_time_limit_still_works(tmp_path, capsys, monkeypatch):
    import dataclasses

    import rnntext.serve
    from rnntext.serve.limits import Limits

    got, hosts = {}, []
    monkeypatch.setattr(rnntext.serve, "run", lambda runs, host, port, allowed_hosts=(), **limits: (
        got.update(limits), hosts.append(allowed_hosts)))
    switch = {f.name for f in dataclasses.fields(Limits) if isinstance(f.default, bool)}
    assert switch == {"exact_batching"}  # a switch is given without a value; every other limit is a number
    argv = [f"--{f.name.removesuffix('_s').replace('_', '-')}" + ("" if f.name in switch else "=7")
            for f in dataclasses.fields(Limits)]
    assert main(["serve", str(tmp_path), *argv, "--allowed-hosts", "a.example, b.example", "--allowed-hosts=c"]) == 0
    assert got == {f.name: True if f.name in switch else 7 for f in dataclasses.fields(Limits)}
    assert Limits(**got).max_top_probs == 7 and Limits(**got).exact_batching is True
    assert hosts == [["a.example", "b.example", "c"]]
    got.clear()
    assert main(["serve", str(tmp_path), "--time-limit", "12.5"]) == 0
    assert got == {"request_timeout_s": 12.5}
    assert capsys.readouterr().err.strip() == ("rnntext serve: warning: --time-limit is now --request-timeout; the old "
                                               "name will be removed in the next release")
    assert main(["serve", "--help"]) == 0
    assert "--time-limit" not in capsys.readouterr().out  # hidden: the help shows the new name only
