# The two commands a newcomer needs: `make demo` and `make test`. Each bootstraps .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt layers/healthaudit/pyproject.toml sandbox/pyproject.toml | cksum | cut -d' ' -f1)
# checkov pins old boto3 and networkx, so it lives in a virtual environment of its own.
CHECKOV_STAMP := .venv-checkov/.installed-$(shell cksum < tests/support/checkov-requirements.txt | cut -d' ' -f1)
export SAM_CLI_TELEMETRY := 0
export CHECKOV := $(CURDIR)/.venv-checkov/bin/checkov

.PHONY: demo test lint pytest unit bootstrap clean lock

# requirements-dev.txt is locked with hashes (`make lock`); the healthaudit package and the sandbox's
# development distribution (sandbox/: the emulator, the demo) are installed editable on top, their
# dependencies already among the locked ones.
$(STAMP): requirements-dev.txt layers/healthaudit/pyproject.toml sandbox/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e layers/healthaudit -e sandbox
	rm -f $(VENV)/.installed-* && touch $@

$(CHECKOV_STAMP): tests/support/checkov-requirements.txt
	test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --require-hashes -r tests/support/checkov-requirements.txt
	rm -f .venv-checkov/.installed-* && touch $@

bootstrap: $(STAMP) $(CHECKOV_STAMP)

demo: $(STAMP)
	$(BIN)/healthaudit demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml

# Every tier: tests/unit (pure logic), tests/integration (the sandbox, the local Slack server),
# tests/contract (template, docs, schema, Chromium, local invoke, asl-validator, published payloads).
# Two pytest processes at once, one per core (tests/support/run_shards.py): the modules that must share a
# process (tests/support/process_groups.py) in one, everything else in the other.
pytest: $(STAMP) $(CHECKOV_STAMP) chromium runtime-venv asl-validator
	$(BIN)/python -m tests.support.run_shards

# The development loop: the unit tier only (no servers, no Chromium, npm, checkov or Python 3.12).
unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

# Headless Chromium for tests/contract/test_html_report.py: Debian's package, installed once (CI runs as root).
.PHONY: chromium
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: lint pytest

# asl-validator (npm), in .asl-validator/ beside the tests: tests/integration/test_fanout.py validates the state
# machine's definition with it. Installed once with `npm ci` from the lockfile in
# tests/support/asl-validator/ (every package's integrity hash checked); quiet.
ASL_VALIDATOR_VERSION := 4.0.0
ASL_VALIDATOR_LOCK := tests/support/asl-validator/package-lock.json
ASL_VALIDATOR_STAMP := .asl-validator/.installed-$(shell cksum < $(ASL_VALIDATOR_LOCK) | cut -d' ' -f1)
.PHONY: asl-validator
asl-validator: $(ASL_VALIDATOR_STAMP)

$(ASL_VALIDATOR_STAMP): $(ASL_VALIDATOR_LOCK) tests/support/asl-validator/package.json
	@if ! command -v npm >/dev/null; then \
		echo "make: npm not found: tests/integration/test_fanout.py will skip the state machine validation (fails under CI)" >&2; \
		test -z "$$CI"; exit $$?; \
	fi; mkdir -p .asl-validator && cp tests/support/asl-validator/package.json $(ASL_VALIDATOR_LOCK) .asl-validator/ \
		&& npm ci --prefix .asl-validator --no-audit --no-fund --loglevel=error --silent >/dev/null \
		&& rm -f .asl-validator/.installed-* && touch $@

clean:
	rm -rf $(VENV) .venv-checkov .venv-runtime .asl-validator .aws-sam out test-artifacts

# Lambda's python3.12: `sam build` runs pip under it (a real interpreter on PATH, not a pyenv shim),
# and .venv-runtime runs the built functions under awslambdaric (tests/contract/test_local_invoke.py).
PYTHON312_VERSION := 3.12.1
RUNTIME_STAMP := .venv-runtime/.installed
FIND_PYTHON312 = py=""; \
	if prefix=$$(pyenv prefix $(PYTHON312_VERSION) 2>/dev/null) && [ -x "$$prefix/bin/python3.12" ]; then \
		py="$$prefix/bin/python3.12"; \
	elif command -v python3.12 >/dev/null 2>&1; then \
		py=$$(python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null) || py=""; \
	fi; \
	if [ -z "$$py" ]; then \
		echo "make: no python3.12 found (tried 'pyenv prefix $(PYTHON312_VERSION)' and 'command -v python3.12')." >&2; \
		echo "make: sam build and the local Lambda runtime need Lambda's Python 3.12, e.g. 'pyenv install $(PYTHON312_VERSION)'." >&2; \
		exit 1; \
	fi

.PHONY: build runtime-venv local-invoke

build: $(STAMP)
	@$(FIND_PYTHON312); echo "sam build with $$py"; PATH="$$(dirname "$$py"):$$PATH" $(BIN)/sam build

runtime-venv: $(RUNTIME_STAMP)

$(RUNTIME_STAMP): tests/support/runtime-requirements.txt
	@$(FIND_PYTHON312); test -x .venv-runtime/bin/python || "$$py" -m venv .venv-runtime
	.venv-runtime/bin/python -m pip install --quiet --require-hashes -r tests/support/runtime-requirements.txt
	cp tests/support/runtime-requirements.txt $@

# `sam local invoke` for people without Docker: sam build, then every file in events/ through the
# Lambda Runtime Interface Emulator and awslambdaric, against the sandbox, all on 127.0.0.1.
local-invoke: $(STAMP) runtime-venv
	$(BIN)/pytest -q tests/contract/test_local_invoke.py

# The 10,000-function benchmark against Cloud Custodian (bench/run.py; not part of `make test`).
# Custodian lives in a virtual environment of its own, pinned. Options: make bench BENCH_ARGS="--sizes 1000 --skip-peer"
C7N_VERSION := 0.9.53
C7N_STAMP := .venv-c7n/.installed-$(C7N_VERSION)
BENCH_ARGS ?=

$(C7N_STAMP):
	test -x .venv-c7n/bin/python || $(PYTHON) -m venv .venv-c7n
	.venv-c7n/bin/python -m pip install --quiet c7n==$(C7N_VERSION)
	rm -f .venv-c7n/.installed-* && touch $@

.PHONY: bench
bench: $(STAMP) $(C7N_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Every requirements file is resolved from the *.in beside it, with hashes, for the Python and platform
# that installs it: the layer for Lambda's python3.12 on arm64, the development tools for this
# machine's python3.11, the local Lambda runtime for python3.12 here. Run after changing a *.in.
UV_COMPILE = $(BIN)/uv pip compile --generate-hashes --custom-compile-command "make lock" -q
lock: $(STAMP)
	$(UV_COMPILE) layers/healthaudit/requirements.in --python-version 3.12 --python-platform aarch64-manylinux_2_28 \
		-o layers/healthaudit/requirements.txt
	$(UV_COMPILE) requirements-dev.in --python-version 3.11 --python-platform x86_64-manylinux_2_28 -o requirements-dev.txt
	$(UV_COMPILE) tests/support/runtime-requirements.in --python-version 3.12 --python-platform x86_64-manylinux_2_28 \
		-o tests/support/runtime-requirements.txt
	$(UV_COMPILE) tests/support/checkov-requirements.in --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		-o tests/support/checkov-requirements.txt

# `sam local invoke` itself, in Docker, with the README's command (tests/contract/test_sam_local_invoke_docker.py;
# not in `make test`: docs/local-invoke.md). Starts Debian's Docker engine when none answers and builds Lambda's
# python3.12 base image locally; the test skips, never fails, when no engine can be started.
.PHONY: local-invoke-docker
local-invoke-docker: $(STAMP) runtime-venv
	HEALTHAUDIT_DOCKER_TESTS=1 $(BIN)/pytest -q -s -p no:cacheprovider tests/contract/test_sam_local_invoke_docker.py

# An organization through template.yaml's state machine, executed in the sandbox (bench/org_run.py; not part of
# `make test`, which it would outlast): 1,000 accounts x 4 Regions, 30 % without the member role, then the
# merge alone at 4,000 targets. Options: make org ORG_ARGS="--accounts 50 --merge-targets 4000"
ORG_ARGS ?=
.PHONY: org
org: $(STAMP)
	$(BIN)/python bench/org_run.py $(ORG_ARGS)

# The README's two pictures, from the demo: the HTML report as Chromium shows it at 1,400 px, and the Slack
# digest drawn as Slack's desktop client lays it out (tests/support/slack_preview.py). Committed under docs/images/.
SCREENSHOT := /usr/bin/chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync --disable-quic \
	--force-device-scale-factor=1 --user-data-dir=$(CURDIR)/out/.chromium-profile
.PHONY: screenshots
screenshots: $(STAMP) chromium
	$(BIN)/healthaudit demo --output-dir out >/dev/null
	$(BIN)/python -m tests.support.slack_preview out/demo-slack-digest.json out/demo-slack-digest.html
	mkdir -p docs/images
	$(SCREENSHOT) --window-size=1400,1500 --screenshot=docs/images/report.png \
		file://$(CURDIR)/out/demo-report.html 2>>out/chromium.log
	$(SCREENSHOT) --window-size=900,1100 --screenshot=docs/images/slack-digest.png \
		file://$(CURDIR)/out/demo-slack-digest.html 2>>out/chromium.log
