# Every target creates or refreshes its own virtualenv (.venv) from pyproject.toml: nothing to install by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CONFIG ?= config/example.yaml
# jsii reads this as the list of Node major versions whose end-of-life banner to silence.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: venv run test lint docs synth deploy bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

## The local demo: both sandboxes, embedded AWS, the service; places orders and prints what happened.
run: $(STAMP)
	$(BIN)/orosync demo --config $(CONFIG)

## All default suites: unit, integration, infrastructure, e2e, chaos.
test: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared functions local cli sandbox infra

## The operations guide's generated tables (exceptions catalogue, alarms) rewritten from the code.
docs: $(STAMP)
	$(BIN)/python -m shared.operations_guide

## CloudFormation template into cdk.out/ (the CDK CLI is installed locally, not globally).
node_modules/.bin/cdk:
	npm install --no-audit --no-fund --no-save --silent aws-cdk@2.1148.1

synth: $(STAMP) node_modules/.bin/cdk
	PATH=$(CURDIR)/$(BIN):$$PATH node_modules/.bin/cdk synth -c config=$(CONFIG) --quiet

deploy: $(STAMP) node_modules/.bin/cdk
	PATH=$(CURDIR)/$(BIN):$$PATH node_modules/.bin/cdk deploy -c config=$(CONFIG)


## Figures, not pass/fail: ERP calls per order, orders per minute at the rate limit, throttle responses.
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) cdk.out node_modules .pytest_cache .build
