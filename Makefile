# Pactline: the README's two commands are `make demo` and `make test`. Each sets itself up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export AIRFLOW_HOME := $(CURDIR)/.airflow
export PACTLINE_HOME := $(CURDIR)/.pactline
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo test lint up down sample-data airflow-db clean chromium

# Pinned dependencies; constraints.txt locks the whole resolved set.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip>=24"
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

airflow-db: install
	$(BIN)/airflow db migrate > /dev/null

sample-data: install
	$(BIN)/python include/generate_sample_data.py --rows 500

demo: airflow-db sample-data
	@echo "Signing the example agreements with local DEMO keys: this machine holds every party's key (in a real deployment each party keeps its own and signs in its own Airflow)"
	for f in include/agreements/*.yaml; do \
	  $(BIN)/pactline keys new --agreement $$f --all-parties --if-missing > /dev/null && $(BIN)/pactline sign $$f --all-local || exit 1; \
	done
	$(BIN)/pactline validate include/agreements/*.yaml
	$(BIN)/pactline plan include/agreements/fraud.yaml
	set -o pipefail; $(BIN)/pactline run include/agreements/fraud.yaml 2>&1 | tail -n 6
	set -o pipefail; $(BIN)/pactline run include/agreements/readmission.yaml --approved-by demo-steward 2>&1 | tail -n 6
	$(BIN)/pactline ledger verify
	@echo "Releases are under $(PACTLINE_HOME)/data/<agreement>/shared/, encrypted, and on the exchange $(PACTLINE_HOME)/exchange/"
	@echo "Read one as a granted principal: $(BIN)/pactline read PATH --as fraud-lab-analysts; receive one as the lab: $(BIN)/pactline fetch transactions-release --as fraud-lab-analysts"
	@echo "Start the Airflow UI with: make up"

lint: install
	$(BIN)/ruff check .

# The browser tests drive Debian's chromium (never a browser downloaded by Playwright).
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y --no-install-recommends chromium)

test: install chromium
	$(BIN)/ruff check .
	$(BIN)/pytest

up: airflow-db sample-data
	@if [ -f $(AIRFLOW_HOME)/standalone.pid ] && kill -0 $$(cat $(AIRFLOW_HOME)/standalone.pid) 2>/dev/null; then \
	  echo "already running (pid $$(cat $(AIRFLOW_HOME)/standalone.pid))"; \
	else \
	  PATH="$(CURDIR)/$(BIN):$$PATH" setsid nohup $(BIN)/airflow standalone > $(AIRFLOW_HOME)/standalone.log 2>&1 & echo $$! > $(AIRFLOW_HOME)/standalone.pid; \
	  for i in $$(seq 1 90); do curl -fsS http://localhost:8080/api/v2/monitor/health > /dev/null 2>&1 && break; sleep 2; done; \
	fi
	@echo "Airflow UI: http://localhost:8080  (user admin; password in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated)"
	@echo "Log: $(AIRFLOW_HOME)/standalone.log   Stop with: make down"

down:
	@# standalone runs in a session of its own: stop that process group, and only it
	@if [ -f $(AIRFLOW_HOME)/standalone.pid ]; then kill -- -$$(cat $(AIRFLOW_HOME)/standalone.pid) 2>/dev/null || true; rm -f $(AIRFLOW_HOME)/standalone.pid; fi

clean:
	rm -rf .airflow .pactline include/data .pytest_cache
