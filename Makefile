# Tourniquet: `make demo` to try it, `make test` to check it. GNU make; Python 3.11 in .venv.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Services the tests and `make run` use (PostgreSQL and Redis on this machine).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tourniquet
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tourniquet_bench
BENCH_TICKETS ?= 1000000
BENCH_EVENTS_PER_TICKET ?= 5

# The demo: embedded SQLite (the default DATABASE_URL), tasks run in-process, in-memory
# websocket layer, console gateways (messages are printed, nothing leaves the machine).
# Channels that need a local fake provider (e.g. the fake Twilio server) add their
# variables to DEMO_ENV and start the provider in DEMO_SIDECARS: background commands, each
# ending in "&", e.g. `$(DEMO_ENV) $(PY) manage.py fake_twilio --port 8020 &`.
# When the server stops (Ctrl-C), the recipe's exit trap stops them too.
DEMO_ENV := DJANGO_DEBUG=1 CELERY_TASK_ALWAYS_EAGER=1 CHANNEL_LAYER_REDIS=0 SEND_RATE_LIMIT_BACKEND=local \
  REPORTS_REFRESH_ON_VIEW=1
DEMO_SIDECARS :=
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000
# SMS: the real Twilio SDK talks to the local fake Twilio, whose signed status callbacks come
# back to the demo server; play the customer at /demo/phone/ next to the agent's ticket page.
DEMO_TWILIO_PORT ?= 8020
DEMO_ENV += PUBLIC_BASE_URL=http://$(DEMO_HOST):$(DEMO_PORT) TWILIO_API_BASE=http://127.0.0.1:$(DEMO_TWILIO_PORT) \
	CHANNEL_GATEWAYS=sms=channels_app.sms.gateway.TwilioGateway,email=channels_app.console.gateway.ConsoleGateway,chat=channels_app.chat.gateway.ChatGateway
DEMO_SIDECARS += $(DEMO_ENV) $(PY) manage.py fake_twilio --port $(DEMO_TWILIO_PORT) --callback-delay 0.5 &
DEMO_SIDECARS += $(DEMO_ENV) $(PY) manage.py fake_backends --port 8030 &

CELERY_QUEUES := inbound,outbound,broadcast,triage,default
RUN_BIND ?= 127.0.0.1:8000
RUN_WS_BIND ?= 127.0.0.1:8001
# HTTP: gunicorn gthread (WSGI) workers keep one database connection per thread. Under ASGI every
# request runs in a fresh thread with a fresh connection: measured 2x slower pages (bench/README.md).
GUNICORN_HTTP := -c python:helpdesk.gunicorn

.PHONY: help install lock demo test test-serial quick lint run bench services chromium translations

help:
	@echo "make demo   - install, seed and serve the demo at http://$(DEMO_HOST):$(DEMO_PORT)"
	@echo "make test   - lint, type-check and run every test (PostgreSQL, Redis, chromium)"
	@echo "make run    - production-like: web (gunicorn+uvicorn), Celery worker and beat"
	@echo "make bench  - fill a benchmark database and run every bench/*.py"
	@echo "make quick  - lint and the tests without browsers or worker processes (inner loop)"
	@echo "make lint   - ruff, ruff format, import-linter and mypy"
	@echo "make lock   - upgrade: re-resolve dependencies into requirements.lock (with hashes)"

# Idempotent: reinstalls only when the lock or pyproject.toml changes (or the venv is missing).
# Every dependency comes from requirements.lock, pinned with hashes (pip refuses anything else);
# the project itself is installed on top without resolving again.
install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	$(MAKE) --no-print-directory translations
	@touch $(STAMP)

# Upgrading is this one command: re-resolve pyproject.toml's ranges to the newest releases and
# write requirements.lock with hashes (no index URL or local path in it). Review, test, commit.
lock:
	@test -x $(VENV)/bin/pip-compile || $(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --upgrade --generate-hashes --allow-unsafe --strip-extras --extra dev \
	  --no-emit-index-url --no-emit-find-links --no-emit-trusted-host -o requirements.lock pyproject.toml
	# The image's set (no test tools), pinned to the same versions: resolved within the full lock.
	$(VENV)/bin/pip-compile --generate-hashes --allow-unsafe --strip-extras --constraint requirements.lock \
	  --no-emit-index-url --no-emit-find-links --no-emit-trusted-host -o requirements-prod.lock pyproject.toml

# .mo files are not committed: compile every locale/*/LC_MESSAGES/*.po (pure Python, no msgfmt).
translations:
	$(PY) manage.py compile_translations

services:
	@bash .ci/services.sh

chromium:
	@bash .ci/chromium.sh

demo: install
	$(DEMO_ENV) $(PY) manage.py migrate --noinput
	$(DEMO_ENV) $(PY) manage.py seed_demo
	@echo
	@echo "  Tourniquet demo: http://$(DEMO_HOST):$(DEMO_PORT)/"
	@echo "  Log in as agent / tourniquet-demo  (also: manager, admin; same password)"
	@echo "  Public contact form: http://$(DEMO_HOST):$(DEMO_PORT)/contact/   Ctrl-C stops."
	@echo
	@trap 'kill $$(jobs -p) 2>/dev/null' EXIT; trap 'exit 0' INT TERM; \
	$(DEMO_SIDECARS) \
	$(DEMO_ENV) $(VENV)/bin/uvicorn helpdesk.asgi:application --host $(DEMO_HOST) --port $(DEMO_PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy helpdesk channels_app triage

# Two pytest processes at once: the tests that start real processes and browsers (e2e,
# integration: mostly waiting) beside all the others (mostly CPU), each on its own database and
# Redis db; the first's output follows the second's. One after the other took 17 minutes on the
# 2-core machine. `make test-serial` runs them in one process.
TEST_PROCESSES_DATABASE_URL ?= $(TEST_DATABASE_URL)_processes
TEST_PROCESSES_REDIS_URL ?= $(patsubst %/$(lastword $(subst /, ,$(TEST_REDIS_URL))),%,$(TEST_REDIS_URL))/$(shell echo $$(( ($(lastword $(subst /, ,$(TEST_REDIS_URL))) + 1) % 16 )))
test: install services chromium lint
	@mkdir -p artifacts; \
	DATABASE_URL=$(TEST_PROCESSES_DATABASE_URL) REDIS_URL=$(TEST_PROCESSES_REDIS_URL) \
	  $(VENV)/bin/pytest -p no:cacheprovider -m "e2e or integration" > artifacts/test-processes.log 2>&1 & \
	processes=$$!; \
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(VENV)/bin/pytest -p no:cacheprovider -m "not e2e and not integration"; others=$$?; \
	wait $$processes; browsers=$$?; \
	echo "== e2e and integration tests (artifacts/test-processes.log)"; cat artifacts/test-processes.log; \
	test $$others -eq 0 -a $$browsers -eq 0

test-serial: install services chromium lint
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest -p no:cacheprovider

# The inner loop (about 10 minutes on 2 cores): lint and every test but the browser and multi-process ones.
quick: install services lint
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest -p no:cacheprovider \
	  -m "not e2e and not integration" --ignore=tests/e2e --ignore=tests/integration

# Production-like on this machine: migrate, then the workers, beat, the HTTP server (WSGI) and the
# websocket server (ASGI); Ctrl-C stops them all. The sweep queue has a worker of its own, so a
# broadcast's dispatch tasks never delay the sweep that recovers from a dead worker.
run: install services
	DJANGO_DEBUG=0 DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(PY) manage.py ensure_database
	DJANGO_DEBUG=0 DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=0 $(PY) manage.py collectstatic --noinput -v 0
	@export DJANGO_DEBUG=0 DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	  WEBSOCKET_BASE_URL=$${WEBSOCKET_BASE_URL:-ws://$(RUN_WS_BIND)} \
	  STATICFILES_BACKEND=whitenoise.storage.CompressedManifestStaticFilesStorage; \
	trap 'kill 0' INT TERM EXIT; \
	$(VENV)/bin/celery -A helpdesk worker -Q $(CELERY_QUEUES) -l info & \
	$(VENV)/bin/celery -A helpdesk worker -Q sweep -c 1 -n sweep@%h -l info & \
	$(VENV)/bin/celery -A helpdesk beat -l info --schedule /tmp/tourniquet-celerybeat & \
	$(VENV)/bin/gunicorn $(GUNICORN_HTTP) -b $(RUN_BIND) & \
	$(VENV)/bin/uvicorn helpdesk.asgi:application \
	  --host $(word 1,$(subst :, ,$(RUN_WS_BIND))) --port $(word 2,$(subst :, ,$(RUN_WS_BIND))) & \
	wait

# Seeds BENCH_DATABASE_URL once (skipped when already that size), then runs every bench with a main.
bench: install services
	$(PY) -c "import sys, psycopg2; c = psycopg2.connect('$(BENCH_DATABASE_URL)'.rsplit('/', 1)[0] + '/postgres'); c.autocommit = True; cur = c.cursor(); cur.execute('SELECT 1 FROM pg_database WHERE datname = %s', ['$(BENCH_DATABASE_URL)'.rsplit('/', 1)[1]]); cur.fetchone() or cur.execute('CREATE DATABASE ' + '$(BENCH_DATABASE_URL)'.rsplit('/', 1)[1])"
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py migrate --noinput -v 0
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py seed_bulk --tickets $(BENCH_TICKETS) \
	  --events-per-ticket $(BENCH_EVENTS_PER_TICKET) --skip-if-seeded
	@for f in bench/*.py; do \
	  grep -q '^def main' $$f || continue; \
	  mod=$$(basename $$f .py); echo "== bench.$$mod"; \
	  DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m bench.$$mod || exit 1; \
	done
