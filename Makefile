# e-Cabinet. `make run` serves the demo on http://127.0.0.1:$${PORT:-8000}/; `make test` runs ruff and
# the whole pytest suite. Both work on a fresh Debian 12 machine (as root, for the system packages).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Targets are listed in the order they must run (system packages, then Python, then messages).
.NOTPARALLEL:

VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.install-stamp
# Debian packages: Chromium (browser tests), poppler-utils and qpdf (PDF tools), gettext (msgfmt for
# compilemessages), DejaVu fonts, Pango and HarfBuzz-subset (WeasyPrint), SoftHSM (signing keys), nginx
# (the scaled-out topology, run as a child process), python3-venv (.venv);
# and Node.js (any install) for the test that runs the tablets' reducer, static/room/state.js.
SYSDEPS := python3-venv chromium poppler-utils qpdf gettext fonts-dejavu-core libpango-1.0-0 \
	libpangoft2-1.0-0 libharfbuzz-subset0 softhsm2 nginx

.PHONY: help install sysdeps messages run test test-postgres lint clean

help:
	@echo "make run      install what is missing, migrate, load the demo if the database is empty, serve"
	@echo "              on http://127.0.0.1:\$${PORT:-8000}/ (Daphne)"
	@echo "make test     install what is missing, then ruff and the whole pytest suite, then the"
	@echo "              concurrency tiers again on PostgreSQL (make test-postgres)"
	@echo "make install  create $(VENV) and pip install -e '.[dev]' (again only when pyproject.toml changes)"
	@echo "make sysdeps  apt-get install the Debian packages that are missing (root only)"
	@echo "make messages compile the translations"
	@echo "make cluster  several Daphne workers behind nginx on PostgreSQL + Redis (WORKERS=2 PORT=8080)"
	@echo "make test-cluster  the scale-out fault tests and the fan-out smoke (run by make test)"
	@echo "make bench    the benchmarks (bench/README.md); make bench-cluster on the scaled-out topology"
	@echo "make vendor   npm ci the vendored front-end packages (vendor/) and copy them into static/vendor/ (docs/vendor.md)"
	@echo "make lint     ruff check . and lint-imports (which package may import which)"
	@echo "make clean    remove caches and collected static files (keeps the database in var/)"

install: $(STAMP)

$(PYTHON):
	python3 -m venv $(VENV) || { echo "python3 -m venv failed: run 'make sysdeps' as root" \
		"(or apt-get install -y python3-venv)" >&2; exit 1; }

$(STAMP): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

sysdeps:
	@if ! command -v dpkg >/dev/null; then \
		echo "sysdeps: not a Debian system; install by hand: $(SYSDEPS)"; exit 0; fi; \
	missing=""; \
	for package in $(SYSDEPS); do \
		dpkg -s "$$package" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$package"; \
	done; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "sysdeps: missing:$$missing"; \
		echo "sysdeps: not root, so not installing them; run: sudo apt-get install -y$$missing"; \
		exit 0; fi; \
	echo "sysdeps: installing$$missing"; \
	apt-get update -qq; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing

messages: install
	@if command -v msgfmt >/dev/null; then \
		$(PYTHON) manage.py compilemessages --ignore=$(VENV) -v0; \
	else echo "messages: msgfmt not found (apt-get install -y gettext): the screens will fall back to English"; fi

run: sysdeps install messages
	$(PYTHON) manage.py collectstatic --noinput -v0
	$(PYTHON) manage.py migrate --noinput -v0
	$(PYTHON) manage.py seed_demo --if-empty
	$(PYTHON) manage.py check
	@echo
	@echo "e-Cabinet: http://127.0.0.1:$${PORT:-8000}/  (stop with Ctrl-C)"
	@echo "Demo accounts, all with the password ecabinet-demo:"
	@echo "  pm                    Thủ tướng — chair of the sessions"
	@echo "  member01 … member26   Phó Thủ tướng, Bộ trưởng, Thủ trưởng cơ quan ngang bộ — members"
	@echo "  secretary             Văn phòng Chính phủ — prepares the sessions"
	@echo "  archivist             records office — reads closed sessions"
	@echo "  guest                 Chủ tịch UBND TP Hà Nội — observer"
	@echo "  outsider              active account invited to nothing"
	@echo "  admin                 IT superuser (/admin/) — sees no session content"
	@echo
	@# The production command (deploy/daphne_process.py): a listen backlog for a hall of tablets
	@# reconnecting at once, a handshake timeout longer than the admission queue, and Daphne's pings
	@# only for sockets silent for a minute (docs/limits.md).
	@exec $(PYTHON) -m daphne -e tcp:port=$${PORT:-8000}:interface=127.0.0.1:backlog=4096 \
		--websocket_connect_timeout 60 --ping-interval 60 --ping-timeout 30 ecabinet.asgi:application

# pytest exits with 5 when it collects nothing; here that is a failure with its own message, not a
# puzzling "Error 5". With CI set, pytest writes no cache into the checkout.
test: sysdeps install messages
	$(VENV)/bin/ruff check $(if $(CI),--no-cache) .
	$(VENV)/bin/lint-imports $(if $(CI),--no-cache)
	@status=0; $(PYTHON) -m pytest $(if $(CI),-p no:cacheprovider) $(PYTEST_ARGS) || status=$$?; \
	if [ "$$status" = 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit "$$status"
	@$(MAKE) --no-print-directory test-postgres
	@$(MAKE) --no-print-directory test-cluster

# The same tests where concurrency and locking differ between databases (votes racing closes,
# idempotent writes, lock order, the room), again on a real PostgreSQL. Without PostgreSQL they are
# skipped with a message -- unless CI is set, where a missing service is a failure.
PG_ADMIN_URL ?= postgres://postgres@127.0.0.1:5432/postgres
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/ecabinet_ci
PG_TESTS := tests/voting tests/room tests/test_idempotency.py tests/test_idempotency_payloads.py \
	tests/test_room_events_converge.py tests/test_api_meetings.py tests/test_api_auth_and_errors.py \
	tests/minutes/test_minutes_access.py tests/archive/test_api.py tests/api tests/test_bulk_insert.py \
	tests/test_permissions_agree.py tests/test_pdf_admission.py tests/ballots/test_hostile_drafts.py \
	tests/test_rate_limits.py tests/test_rate_limits_redis.py tests/http/test_request_limits.py \
	tests/test_lockout.py tests/test_lockout_screens.py tests/test_lockout_redis.py tests/minutes/test_pin_lockout.py \
	tests/followup/test_schedule.py tests/security

test-postgres: install messages
	@if ! $(PYTHON) -c "import psycopg; psycopg.connect('$(PG_ADMIN_URL)', connect_timeout=5).close()" 2>/dev/null; then \
		if [ -n "$${CI:-}" ]; then echo "test-postgres: PostgreSQL is not reachable at $(PG_ADMIN_URL) (required under CI)" >&2; exit 1; fi; \
		echo "test-postgres: SKIPPED - start PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) to run this tier"; exit 0; fi; \
	echo "test-postgres: the concurrency tiers again on PostgreSQL"; \
	DATABASE_URL=$(PG_TEST_URL) $(PYTHON) -m pytest -p no:cacheprovider -m "not browser" $(PG_TESTS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# More targets (the scaled-out cluster, benchmarks) live in mk/*.mk, one file per topic.
include $(wildcard mk/*.mk)

clean:
	rm -rf .pytest_cache .ruff_cache var/staticfiles build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
	find locale -name '*.mo' -delete 2>/dev/null || true
