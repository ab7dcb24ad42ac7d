# promptdaw: `make demo` and `make test` on a fresh Debian machine with Python 3.11.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out
GPU    ?= 0

.PHONY: setup system-deps models demo test lint bench clean

setup: $(STAMP) models ## install everything: system packages, .venv, the package, model files

system-deps:
	@scripts/install_system_deps.sh

$(BIN)/python: | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,train]'
ifeq ($(GPU),1)
	# both wheels provide the `onnxruntime` module: remove the CPU one first
	$(BIN)/pip uninstall --yes onnxruntime
	$(BIN)/pip install --quiet -e '.[dev,train,gpu]'
endif
	@touch $(STAMP)

models: $(STAMP)
	$(BIN)/promptdaw fetch-models

demo: setup ## run the main job on its embedded defaults, write to ./out
	$(BIN)/python scripts/demo.py --out $(OUT)

test: setup ## the whole suite
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup ## daemon benchmarks, results as JSON and a table for docs/benchmarks.md
	$(BIN)/python scripts/bench_daemon.py

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info .pytest_cache .ruff_cache

# ---- the DAW plugin (bridge/): VST3, CLAP and LV2 built out of tree into build/bridge/bin ----
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: plugin install-plugin

setup: plugin

plugin: system-deps ## build the promptdaw VST3/CLAP/LV2 plugin (build/bridge/bin)
	$(MAKE) -C bridge -j$(JOBS) all

install-plugin: plugin ## copy the plugin into ~/.vst3, ~/.clap and ~/.lv2
	$(MAKE) -C bridge install
