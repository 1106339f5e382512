# The two commands of the README are `make run` and `make test`; everything they need is installed here.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
# Every package, direct or transitive, is installed from a lock file pinned with hashes (`make lock`).
PIP_COMPILE := $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

.PHONY: help run test lint typecheck fmt migrations-check lock audit bench scale-demo soak rolling-restart clean worker

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.runtime: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r requirements.lock
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(PIP) install --quiet --require-hashes -r requirements-dev.lock
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

lint: $(VENV)/.dev typecheck ## ruff lint and format check, and the type check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.dev ## mypy with django-stubs and djangorestframework-stubs (strict on services, selectors, core)
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-mypy-reads-the-settings-only} $(VENV)/bin/mypy .

fmt: $(VENV)/.dev ## Format and autofix with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrations-check: $(VENV)/.dev ## Fail if models changed without a migration
	$(PY) manage.py makemigrations --check --dry-run

lock: $(VENV)/.dev ## Recompile requirements.lock and requirements-dev.lock from the .txt files (LOCK_ARGS=--upgrade: newest allowed)
	$(PIP_COMPILE) --output-file requirements.lock requirements.txt
	$(PIP_COMPILE) --constraint requirements.lock --output-file requirements-dev.lock requirements-dev.txt

audit: $(VENV)/.dev ## pip-audit the locked dependencies against PyPI's vulnerability data
	$(PY) scripts/audit_dependencies.py requirements-dev.lock

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

rolling-restart: $(VENV)/.dev ## two replicas restarted in turn with SIGTERM under traffic (writes bench/results/rolling_restart.json)
	$(PIP) install --quiet -r bench/requirements.txt
	$(PY) -m bench.rolling_restart $(BENCH_ARGS)
