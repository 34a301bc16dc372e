# mlcp - every target bootstraps what it needs from a clean clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
# checkov in a venv of its own: installed into .venv it would replace pinned boto3/botocore/s3transfer/packaging.
# tests/static/test_checkov.py runs it (MLCP_CHECKOV); it fails, not skips, when MLCP_CHECKOV names no executable.
CHECKOV_VENV := .tools/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
export MLCP_CHECKOV ?= $(abspath $(CHECKOV_VENV)/bin/checkov)
# SAM builds the python3.13 runtime; pyenv (if present) must expose python3.13 next to the default.
export PYENV_VERSION ?= $(shell command -v pyenv >/dev/null 2>&1 && pyenv versions --bare | grep -E '^3\.(11|12|13)\.' | sort -V | tr '\n' ':' | sed 's/:$$//')
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: help bootstrap checkov chromium report test test-unit test-functional test-static test-local lint typecheck build demo bench schema openapi clean
.PHONY: scaling-schema

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements-dev.lock
	@echo "First run: creating $(VENV) and installing mlcp with its dev and local extras (boto3, pydantic, Powertools,"
	@echo "moto, SAM CLI, cfn-lint, pytest, mypy, ruff, matplotlib; about 700 MB) - roughly 2-3 minutes, once."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements-dev.lock -e '.[dev,local,sagemaker]'
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV_STAMP): requirements-checkov.txt
	@echo "First run: installing checkov (requirements-checkov.txt) into its own venv $(CHECKOV_VENV) (about 300 MB) - 1-2 minutes, once."
	$(PYTHON) -m venv --clear $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

checkov: $(CHECKOV_STAMP) ## install checkov (pinned) into its own venv .tools/checkov for tests/static/test_checkov.py

# Debian's Chromium opens the run reports in tests/local_cloud/test_report_browser.py (Playwright drives it; no
# `playwright install`: it would download another browser). CI runs as root on a fresh Debian machine; elsewhere,
# without root, the test skips saying why (and fails under CI=true).
chromium: ## install Debian's chromium when missing (the browser test of the reports)
	@command -v chromium >/dev/null 2>&1 || (apt-get update && apt-get install -y chromium) || \
		echo "chromium is not installed (apt-get needs root): the browser test skips with a reason; under CI=true it fails"

bootstrap: $(STAMP) $(NPM_STAMP) $(CHECKOV_STAMP) ## create .venv, install Python and npm tools, checkov in .tools/checkov

# Parallel workers (pytest-xdist), one test module per worker at a time (--dist loadfile): a local-cloud module
# deploys its cloud once and shares it across its tests. PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

test: bootstrap chromium lint typecheck ## everything CI runs: lint, types, unit, functional, static, local cloud, bench smoke
	$(BIN)/pytest $(PYTEST_PARALLEL) --cov --cov-branch --cov-report=term --cov-fail-under=90

test-unit: bootstrap ## pure core only (sockets blocked)
	$(BIN)/pytest $(PYTEST_PARALLEL) tests/unit

test-functional: bootstrap ## handlers in-process against moto
	$(BIN)/pytest $(PYTEST_PARALLEL) tests/functional

test-static: bootstrap ## cfn-lint (+ serverless rules), sam validate --lint, asl-validator, schema drift
	$(BIN)/pytest $(PYTEST_PARALLEL) tests/static

test-local: bootstrap ## whole state machines in the embedded local cloud
	$(BIN)/pytest $(PYTEST_PARALLEL) tests/local_cloud

lint: bootstrap ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: bootstrap ## mypy --strict
	$(BIN)/mypy

build: bootstrap ## sam build (python3.13, arm64) into .aws-sam/
	$(BIN)/sam build --template-file template.yaml

schema: bootstrap ## regenerate docs/pipeline-spec.schema.json and docs/batch-spec.schema.json from the models
	$(BIN)/mlcp spec schema > docs/pipeline-spec.schema.json
	$(BIN)/mlcp batch schema > docs/batch-spec.schema.json

scaling-schema: bootstrap ## regenerate docs/scaling-policy.schema.json from the models
	$(BIN)/mlcp scaling schema > docs/scaling-policy.schema.json
openapi: bootstrap ## regenerate docs/openapi.json from the API's routes and models
	$(BIN)/mlcp openapi > docs/openapi.json

bench: bootstrap ## benchmarks (not tests): cold starts, transitions, throughput, scaling, batch planning, preflight, bounded input, warm start
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/transitions.py
	$(BIN)/python bench/local_throughput.py
	$(BIN)/python bench/scaling_replay.py
	$(BIN)/python bench/batch_planning.py
	$(BIN)/python bench/preflight.py
	$(BIN)/python bench/bounded_input.py
	$(BIN)/python bench/warm_start.py

demo: $(STAMP) ## run the example training pipeline end to end on the embedded local cloud, print a summary
	@$(BIN)/mlcp local demo; status=$$?; echo; \
	echo "mlcp is $(VENV)/bin/mlcp; put it on PATH for this shell with:  source $(VENV)/bin/activate"; exit $$status

REPORT := build/report/demo-run.html
report: $(STAMP) chromium ## the demo run's report, a compare over the warm-start bench's runs (build/report/), screenshots in docs/images/
	$(BIN)/mlcp local demo --report $(REPORT)
	$(BIN)/python bench/warm_start.py --out build/report --compare-html build/report
	@mkdir -p docs/images
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=10000 \
		--window-size=1280,2400 --screenshot=docs/images/run-report.png file://$(abspath $(REPORT)) 2>/dev/null
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=10000 \
		--window-size=1280,1800 --screenshot=docs/images/warm-start-compare.png \
		file://$(abspath build/report/warm-start-compare-warm.html) 2>/dev/null
	@echo "report: $(REPORT)  compare: build/report/warm-start-compare-{warm,cold}.html"
	@echo "screenshots: docs/images/run-report.png docs/images/warm-start-compare.png"

clean:
	rm -rf $(VENV) .tools node_modules .aws-sam build/report .pytest_cache .mypy_cache .ruff_cache .coverage
