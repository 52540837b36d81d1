# The two set-up commands: `make demo` and `make test`. Each creates .venv when missing and
# installs what it needs with pip, pinned by constraints.txt. `make demo` installs rnntext with
# the extras the README's tour uses (serve, plot, onnx); `make test` adds the rest and the tools.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check -q -c constraints.txt
TOUR_EXTRAS := serve,plot,onnx

.PHONY: demo test install dev lint clean system-tools

$(PY):
	$(PYTHON) -m venv $(VENV)

# An editable install leaves src/ uncompiled: compile it once, so that the first commands (and any
# run where PYTHONDONTWRITEBYTECODE is set) do not compile rnntext again (a quarter of a second).
$(VENV)/.installed: $(PY) pyproject.toml constraints.txt
	$(PIP) -e '.[$(TOUR_EXTRAS)]'
	$(PY) -m compileall -q src
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.installed-dev

demo: install
	$(VENV)/bin/rnntext demo

# The browser test drives Debian's chromium and the chat test tmux (never a downloaded browser);
# where apt-get cannot install them, those tests skip and say why.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-tools:
	@command -v chromium >/dev/null && command -v tmux >/dev/null || { command -v apt-get >/dev/null \
	  && $(SUDO) apt-get update -q >/dev/null \
	  && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium tmux >/dev/null; } \
	  || echo "chromium/tmux could not be installed with apt-get: the browser and tmux tests will skip"

test: dev system-tools
	$(PY) -m pytest

lint: dev
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache
