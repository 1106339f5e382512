# The two commands of the README are `make run` and `make test`; everything they need is installed here.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help run test lint fmt migrations-check bench scale-demo soak clean worker

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime ## Serve on http://127.0.0.1:8000 (SQLite + in-memory layer unless configured)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	CHAT_SECURE_COOKIES=$${CHAT_SECURE_COOKIES:-false} $(PY) -m chatsite.serve -b $(HOST) -p $(PORT)

worker: $(VENV)/.runtime ## A background-job worker, for servers run with CHAT_JOBS_WORKER=external (make run has its own)
	$(PY) manage.py jobs_worker

test: $(VENV)/.dev ## Install everything and run the whole test suite
	./scripts/ensure-chromium
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(VENV)/.dev ## Format and autofix with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrations-check: $(VENV)/.dev ## Fail if models changed without a migration
	$(PY) manage.py makemigrations --check --dry-run

clean: ## Remove the virtualenv, the local database and collected static files
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles

bench: $(VENV)/.dev ## Run the benchmarks (writes bench/results/latest.md)
	$(PIP) install --quiet -r bench/requirements.txt
	$(PIP) install --quiet -r bench/requirements-plot.txt || echo "matplotlib could not be installed: the tables are written, the plot is skipped"
	$(PY) -m bench.run --scenario all $(BENCH_ARGS)

scale-demo: $(VENV)/.dev ## The scaled topology without Docker: PostgreSQL + Redis + two daphne processes, benchmarked
	$(PIP) install --quiet -r bench/requirements.txt
	$(PY) -m bench.run --scenario fanout,connect,rest --targets baseline,project-redis-core-x2,project-redis-pubsub-x2 \
		--postgres --output bench/results/scale-demo $(BENCH_ARGS)

soak: $(VENV)/.dev ## 10 minutes of mixed traffic with a Redis restart and a kill -9 (writes bench/results/soak.json)
	$(PIP) install --quiet -r bench/requirements.txt
	$(PY) -m bench.soak --minutes $${SOAK_MINUTES:-10}
