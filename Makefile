# Two commands for a fresh machine: `make demo` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TL     := $(VENV)/bin/tensorlang
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup dot npm demo test lint bench vsix clean fuzz

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,lsp,bench,jax,onnx]'
	touch $@

# Graphviz's `dot` renders images; install Debian's package when it is missing.
dot:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing graphviz (the dot binary) with apt-get"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq graphviz >/dev/null; }

# Test-only Node packages: the engines VS Code tokenizes with (for the TextMate grammar's tests)
# and vsce (for `make vsix`), in build/npm/, never in the extension itself. Without npm the
# grammar's tests skip and say why.
NPM_DIR   := build/npm
NPM_TOOLS := vscode-textmate@9.3.2 vscode-oniguruma@2.0.1 @vscode/vsce@3.9.2

npm: $(NPM_DIR)/.installed

$(NPM_DIR)/.installed:
	@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p $(NPM_DIR) && \
	  npm install --prefix $(NPM_DIR) --no-audit --no-fund --loglevel=error $(NPM_TOOLS) && \
	  touch $@; \
	else echo "npm not found: the VS Code grammar tests will be skipped"; fi

# The VS Code extension as build/tensorlang.vsix (install: code --install-extension FILE).
vsix: npm
	cd editors/vscode && npm install --no-audit --no-fund --omit=dev --loglevel=error
	cd editors/vscode && npx --prefix ../../$(NPM_DIR) vsce package --allow-missing-repository \
	  --skip-license -o ../../build/tensorlang.vsix

demo: setup dot
	$(TL) check examples/xor.tl
	$(TL) run examples/xor.tl --log-every 50
	mkdir -p out
	$(TL) graph examples/xor.tl -o out/xor.svg
	$(TL) graph examples/xor.tl --backward -o out/xor_backward.svg
	@echo "pictures of the graph: out/xor.svg out/xor_backward.svg"

# One BLAS thread per test worker: two workers on two cores, without threads fighting for them.
test: setup dot npm
	$(VENV)/bin/ruff check tensorlang tests benchmarks
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2

lint: setup
	$(VENV)/bin/ruff check tensorlang tests benchmarks

bench: setup
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) out build dist .pytest_cache

# Generated programs through the oracle of tensorlang/tools/fuzz.py (`make test` runs 3,000 of
# them with fixed seeds): `make fuzz N=100000 SEED=5000` runs any number from any seed.
N    ?= 10000
SEED ?= 0
fuzz: setup
	OPENBLAS_NUM_THREADS=1 $(PY) -m tensorlang.tools.fuzz --n $(N) --seed $(SEED)
