# twofa: `make run` and `make test` each work alone from a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA_DIR ?= ./data
GOOGLE_PROTOS = $(shell $(BIN)/python -c "import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), '_proto'))")

.PHONY: run test lint dist health proto proto-check buf-lint buf-gen-check buf-breaking node-client bench bench-against docs install install-dev demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps re-run the install whenever a pyproject changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml clients/python/pyproject.toml
	$(BIN)/pip install --quiet -e ./clients/python -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e './clients/python' -e '.[dev,panel]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	@mkdir -p $(DATA_DIR)
	@if [ ! -f $(DATA_DIR)/keyring ]; then \
	  $(BIN)/twofa keys generate $(DATA_DIR)/keyring && \
	  echo "make run: created a DEVELOPMENT keyring at $(DATA_DIR)/keyring (keep it: the store cannot be read without it)"; \
	fi
	@# serve never creates a store (a lost one must not turn 2FA off): a new one is made here, once.
	@if [ ! -f $(DATA_DIR)/data.mdb ]; then $(BIN)/twofa store init --data-dir $(DATA_DIR); fi
	$(BIN)/twofa serve --data-dir $(DATA_DIR)

# loadgroup: the control panel's browser tests share one worker (and one browser).
test: install-dev
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy server clients/python/twofa_client tests bench tools \
	  examples/control-panel/control_panel examples/control-panel/tests examples/control-panel/demo.py

# Wheels and sdists of the client and the server, into $(DIST): what an install uses
# (docs/operations.md). Each wheel is built from its sdist, so an sdist that misses a
# file fails here. Install both by path: PyPI's "twofa" is another project.
DIST ?= dist
dist: install-dev
	rm -f $(DIST)/twofa-[0-9]*.whl $(DIST)/twofa-[0-9]*.tar.gz \
	  $(DIST)/twofa_client-[0-9]*.whl $(DIST)/twofa_client-[0-9]*.tar.gz
	$(BIN)/python -m build --no-isolation --outdir $(DIST) clients/python
	$(BIN)/python -m build --no-isolation --outdir $(DIST) .
	@echo "make dist: install with: pip install $(DIST)/twofa_client-*.whl $(DIST)/twofa-*.whl"

# Is the twofa of `make run` (or the configuration in TWOFA_*) serving? Exit 0 if so.
health: install
	$(BIN)/twofa health $(HEALTH_ARGS)

# twofa, an SMTP catcher and the control panel (examples/control-panel); Ctrl-C stops all three.
DEMO_DIR ?= ./demo-data
DEMO_PORT ?= 8000
demo: install-dev
	$(BIN)/python examples/control-panel/demo.py --data-dir $(DEMO_DIR) --port $(DEMO_PORT)

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

# buf, pinned in tools/buf/package.json: the binary ships inside the npm package, so lint,
# format and generate run offline (buf.yaml has no BSR dependencies).
BUF := tools/buf/node_modules/.bin/buf
# npm writes node_modules/.package-lock.json at each install: newer than the lock file
# unless the pinned version changed since.
BUF_INSTALLED := tools/buf/node_modules/.package-lock.json

$(BUF_INSTALLED): tools/buf/package.json tools/buf/package-lock.json
	cd tools/buf && npm ci --no-audit --no-fund

# Lint (STANDARD and COMMENTS rules, buf.yaml) and formatting of proto/ (CI runs it).
buf-lint: $(BUF_INSTALLED)
	$(BUF) lint
	$(BUF) format --diff --exit-code

# buf.gen.yaml's Python entries must write exactly what `make proto` checked in (CI runs it).
buf-gen-check: install-dev $(BUF_INSTALLED)
	$(BIN)/python tools/buf_gen_check.py $(BUF)

# Breaking changes (FILE rules) against main; run it on a branch before merging (not in
# CI, whose clone is main itself).
AGAINST ?= .git\#branch=main,subdir=proto
buf-breaking: $(BUF_INSTALLED)
	$(BUF) breaking --against '$(AGAINST)'

# The Node client and its example (clients/node/README.md); `make test` runs it against a
# real server once clients/node/node_modules exists.
node-client:
	cd clients/node && npm ci --no-audit --no-fund && npm run build

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
