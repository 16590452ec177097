# twofa: `make run` and `make test` each work alone from a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA_DIR ?= ./data
GOOGLE_PROTOS = $(shell $(BIN)/python -c "import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), '_proto'))")

.PHONY: run test lint proto proto-check bench bench-against docs install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps re-run the install whenever a pyproject changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml clients/python/pyproject.toml
	$(BIN)/pip install --quiet -e ./clients/python -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e './clients/python' -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	@mkdir -p $(DATA_DIR)
	@if [ ! -f $(DATA_DIR)/keyring ]; then \
	  $(BIN)/twofa keys generate $(DATA_DIR)/keyring && \
	  echo "make run: created a DEVELOPMENT keyring at $(DATA_DIR)/keyring (keep it: the store cannot be read without it)"; \
	fi
	$(BIN)/twofa serve --data-dir $(DATA_DIR)

test: install-dev
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy server clients/python/twofa_client tests bench tools

# Generated code is checked in; `make proto-check` (run by CI) fails if it is stale.
proto: install-dev
	$(BIN)/python -m grpc_tools.protoc -I proto -I $(GOOGLE_PROTOS) \
	  --python_out=clients/python --pyi_out=clients/python \
	  --grpc_python_out=clients/python --mypy_grpc_out=clients/python \
	  --plugin=protoc-gen-mypy_grpc=$(BIN)/protoc-gen-mypy_grpc \
	  proto/twofa/v1/twofa.proto
	$(BIN)/python -m grpc_tools.protoc -I server -I $(GOOGLE_PROTOS) \
	  --python_out=server --pyi_out=server \
	  server/twofa_server/store/records.proto

proto-check: proto
	git diff --exit-code -- clients/python/twofa server/twofa_server/store

# The README's configuration table is generated from config.py (a test checks it).
docs: install
	$(BIN)/python tools/update_readme.py

bench: install-dev
	$(BIN)/python -m bench.run --report bench/README.md

# This tree's server against REV's (a commit or branch), served in turns: `make bench-against REV=main~1`.
bench-against: install-dev
	@test -n "$(REV)" || { echo "usage: make bench-against REV=<commit or branch, e.g. main~1>"; exit 2; }
	$(BIN)/python -m bench.run --against '$(REV)'

clean:
	rm -rf $(VENV) build *.egg-info clients/python/build clients/python/*.egg-info
