# The two commands a newcomer needs: `make demo` and `make test`. Each bootstraps .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt layers/healthaudit/pyproject.toml | cksum | cut -d' ' -f1)
CHECKOV_VERSION := 3.3.30
# checkov pins old boto3 and networkx, so it lives in a virtual environment of its own.
CHECKOV_STAMP := .venv-checkov/.installed-$(CHECKOV_VERSION)
export SAM_CLI_TELEMETRY := 0
export CHECKOV := $(CURDIR)/.venv-checkov/bin/checkov

.PHONY: demo test lint unit bootstrap clean

$(STAMP): requirements-dev.txt layers/healthaudit/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

$(CHECKOV_STAMP):
	test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	rm -f .venv-checkov/.installed-* && touch $@

bootstrap: $(STAMP) $(CHECKOV_STAMP)

demo: $(STAMP)
	$(BIN)/healthaudit demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml

unit: $(STAMP) $(CHECKOV_STAMP) chromium
	$(BIN)/pytest

# Headless Chromium for tests/test_html_report.py: Debian's package, installed once (CI runs as root).
.PHONY: chromium
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: lint unit

clean:
	rm -rf $(VENV) .venv-checkov .aws-sam out test-artifacts
