# Every target installs what it needs into .venv first, so a fresh machine needs only Python.
PYTHON ?= python3
# Keep .pyc files out of app.py's and chalicelib/'s folders: chalice hashes every file there to key its cached
# dependency download (.chalice/deployments), so a stray .pyc costs a new download from PyPI. Targets that package the
# app also remove caches a bare `pytest` run may have left (no-bytecode). The package gets its own bytecode, compiled
# for Lambda, from infra/lambda_package.py.
export PYTHONDONTWRITEBYTECODE := 1
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install installs run aws test coverage lint bench clean no-bytecode

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# `make run` and `make aws` keep the table and the bucket in LOCAL_DATA_DIR across restarts (saved at stop, loaded
# at start); FRESH=1 starts empty. `make aws` is the stack without its HTTP API, for `chalice local --stage local`.
LOCAL_DATA_DIR ?= .local-data
FRESH ?=
LOCAL_STACK := LOCAL_DATA_DIR=$(LOCAL_DATA_DIR) LOCAL_FRESH=$(FRESH) $(BIN)/python -m infra.local.stack

run: $(STAMP)
	$(LOCAL_STACK)

aws: $(STAMP)
	$(LOCAL_STACK) --without-http

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy chalicelib

# Two workers (pytest-xdist), one test file per worker at a time (`--dist loadfile`: an e2e module's stack is started
# once), handed out in collection order, where tests/conftest.py puts the tests that drive a local stack first
# (`--no-loadscope-reorder`: xdist would otherwise start the files with the most tests first, leaving the long
# one-test files, Schemathesis and the bench's quick mode, to the end, one worker alone); the 15 slowest are listed.
# The three installs (.venv, .venv-infra, the CDK CLI) run side by side: they wait on the network, not the CPU.
# Coverage is its own target: coverage.py's tracer (Python 3.11 has no sys.monitoring) costs the in-process tests
# about 60 % more CPU, and CI gates on the tests, not on a percentage.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --ignore=tests/infra \
	--durations=15
test: installs lint infra-test
	$(PYTEST)

coverage: installs
	$(PYTEST) --cov=chalicelib --cov-report=term

installs:
	$(MAKE) --no-print-directory -j3 $(STAMP) $(INFRA_STAMP) $(CDK_STAMP)

bench: $(STAMP) no-bytecode
	$(BIN)/python -m tests.perf.bench

no-bytecode:
	find app.py chalicelib -depth -name __pycache__ -type d -exec rm -rf {} +
	rm -rf __pycache__

clean: infra-clean
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage chalice.out cdk.out

# --- Cloud deployment (infra/: CDK app with chalice.cdk) ---------------------------------------------
# The CDK toolchain lives in its own venv (.venv-infra, from infra/requirements.txt) and infra/node_modules
# (the CDK CLI, pinned in infra/package.json), never in .venv or the Lambda package.
# `make synth` needs no AWS account or credentials; `make deploy STAGE=prod` uses your AWS credentials.
STAGE ?= dev
INFRA_TEST_STAGES ?= dev,prod
INFRA_VENV := .venv-infra
INFRA_BIN := $(INFRA_VENV)/bin
INFRA_STAMP := $(INFRA_VENV)/.installed
CDK_STAMP := infra/node_modules/.installed
CDK_OUT := infra/cdk.out
CDK := node_modules/.bin/cdk
CDK_ENV := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_CLI_TELEMETRY=true
SYNTH_ENV := $(CDK_ENV) AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-$${AWS_REGION:-us-east-1}}

.PHONY: synth deploy bootstrap infra-test package-size infra-clean

$(INFRA_STAMP): infra/requirements.txt requirements.txt
	test -x $(INFRA_BIN)/python || $(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_BIN)/python -m pip install --quiet --upgrade pip
	$(INFRA_BIN)/python -m pip install --quiet -r infra/requirements.txt
	touch $(INFRA_STAMP)

$(CDK_STAMP): infra/package.json infra/package-lock.json
	cd infra && npm ci --no-audit --no-fund --loglevel=error
	touch $(CDK_STAMP)

synth: $(INFRA_STAMP) $(CDK_STAMP) no-bytecode
	rm -rf $(CDK_OUT) infra/chalice.out
	cd infra && $(SYNTH_ENV) $(CDK) synth --no-notices --no-version-reporting --quiet -c stage=$(STAGE)
	@echo "synthesised stage(s) $(STAGE) into $(CDK_OUT)/"

deploy: $(INFRA_STAMP) $(CDK_STAMP) no-bytecode
	rm -rf $(CDK_OUT) infra/chalice.out
	cd infra && $(CDK_ENV) $(CDK) deploy --all --no-notices -c stage=$(STAGE) -c deploy=true \
		--require-approval broadening --outputs-file outputs-$(STAGE).json $(DEPLOY_FLAGS)

bootstrap: $(INFRA_STAMP) $(CDK_STAMP)
	cd infra && $(CDK_ENV) $(CDK) bootstrap --no-notices -c stage=$(STAGE) $(DEPLOY_FLAGS)

infra-test: $(STAMP) $(INFRA_STAMP)
	$(MAKE) --no-print-directory synth STAGE=$(INFRA_TEST_STAGES)
	$(INFRA_BIN)/python infra/sam_transform.py $(CDK_OUT)
	$(INFRA_BIN)/cfn-lint $(CDK_OUT)/*.template.json $(CDK_OUT)/*.transformed.json
	$(BIN)/python -m pytest tests/infra

package-size: $(STAMP) no-bytecode
	$(BIN)/python infra/package_size.py

infra-clean:
	rm -rf $(INFRA_VENV) infra/node_modules $(CDK_OUT) infra/chalice.out

# --- Fuzzing (tests/fuzz/README.md) ------------------------------------------------------------------
# Starts its own local stack on free ports, seeds users/friends/a group, runs Schemathesis over every documented
# route (positive and negative data, one worker) and fails on 5xx, schema violations and writes on error answers.
# FUZZ_MAX_TIME (seconds, default 180) bounds the run; FUZZ_MAX_EXAMPLES (default 100) cases per operation and phase.
FUZZ_MAX_TIME ?= 180
FUZZ_MAX_EXAMPLES ?= 100
FUZZ_ARGS ?=

.PHONY: fuzz

fuzz: $(STAMP)
	$(BIN)/python -m infra.fuzz.run --max-time $(FUZZ_MAX_TIME) --max-examples $(FUZZ_MAX_EXAMPLES) $(FUZZ_ARGS)

# --- Load and fault test (infra/load, see infra/load/README.md) ------------------------------------------
# Starts its own local stack on free ports; DURATION caps the traffic phase (seconds); THROTTLE is the share of
# DynamoDB attempts failed with a throttling error; reports go to reports/ (JSON + PNG latency histogram).
USERS ?= 100
MESSAGES ?= 5000
DURATION ?= 300
THROTTLE ?= 0.05
# CONFLICT is the share of DynamoDB transactions and conditional writes answered as a transaction conflict.
CONFLICT ?= 0.05
# KILL is the share of delivery function invocations killed mid-batch (the batch is retried whole: frames pushed
# before the kill arrive twice, counted as redelivered).
KILL ?= 0.02
# LAG delays the delivery of every stream record by that many seconds after its write (a Lambda iterator age);
# POST_FAIL is the share of @connections posts answered 500 (batches report failures and are retried).
LAG ?= 0
POST_FAIL ?= 0
# PROFILE=1 samples local AWS and the stack with py-spy during the traffic: reports/profile-{moto,stack}.svg.
PROFILE ?=
.PHONY: load check-table
load: $(STAMP)
	$(BIN)/python -m infra.load --users $(USERS) --messages $(MESSAGES) --duration $(DURATION) --throttle-rate $(THROTTLE) \
		--conflict-rate $(CONFLICT) --delivery-kill-rate $(KILL) --delivery-lag $(LAG) --post-fail-rate $(POST_FAIL) \
		$(if $(PROFILE),--profile)

# The table's cross-item invariants (infra/local/check_table.py), against a running `make run` stack (one Scan).
AWS_URL ?= http://127.0.0.1:5000
check-table: $(STAMP)
	$(BIN)/python -m infra.local.check_table --endpoint $(AWS_URL)
