# Two commands for a fresh machine: `make demo` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TL     := $(VENV)/bin/tensorlang
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup dot demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Graphviz's `dot` renders images; install Debian's package when it is missing.
dot:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing graphviz (the dot binary) with apt-get"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq graphviz >/dev/null; }

demo: setup dot
	$(TL) check examples/xor.tl
	$(TL) run examples/xor.tl --log-every 50
	mkdir -p out
	$(TL) graph examples/xor.tl -o out/xor.svg
	$(TL) graph examples/xor.tl --backward -o out/xor_backward.svg
	@echo "pictures of the graph: out/xor.svg out/xor_backward.svg"

# One BLAS thread per test worker: two workers on two cores, without threads fighting for them.
test: setup dot
	$(VENV)/bin/ruff check tensorlang tests benchmarks
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2

lint: setup
	$(VENV)/bin/ruff check tensorlang tests benchmarks

bench: setup
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) out build dist .pytest_cache
