"""`rnntext serve` refuses a bad number at start-up, before loading anything: one line, exit status 2."""

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'rnntext[serve]'")
pytest.importorskip("uvicorn", reason="the serve command needs uvicorn: pip install 'rnntext[serve]'")

from rnntext.cli import main  # noqa: E402


@pytest.mark.parametrize("flag, value", [
    ("--time-limit", "nan"), ("--time-limit", "inf"), ("--time-limit", "-inf"), ("--time-limit", "0"),
    ("--time-limit", "-5"), ("--header-timeout", "nan"), ("--header-timeout", "0"), ("--body-timeout", "inf"),
    ("--body-timeout", "-1"), ("--port", "70000"), ("--port", "0"), ("--port", "-1"), ("--max-length", "0"),
    ("--max-samples", "-1"), ("--max-prime-chars", "0"), ("--max-concurrent", "0"), ("--max-queue", "0"),
])
def test_bad_numbers_are_one_line_and_exit_2(tmp_path, capsys, flag, value):
    # The run directory does not exist: the flag is checked first.
    code = main(["serve", str(tmp_path / "no-such-run"), f"{flag}={value}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("rnntext serve: error: ") and f"({flag})" in err and "must be" in err


@pytest.mark.parametrize("flag, value", [("--port", "http"), ("--max-queue", "1.5"), ("--time-limit", "soon")])
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
