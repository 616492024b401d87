# The scaled-out topology (issue #6, docs/deploy.md): several Daphne workers behind nginx, on
# PostgreSQL and Redis, which must already be running (deploy/cluster.py says which is missing and
# how to start it). nginx comes from Debian (make sysdeps) and runs as a child, not as a service.
#
#   make cluster [WORKERS=2] [PORT=8080]   DATABASE_URL / REDIS_URL name the services (defaults:
#                                          postgres://postgres@127.0.0.1:5432/ecabinet_cluster and
#                                          redis://127.0.0.1:6379/1); the demo is loaded if empty
#   make test-cluster                      the fault tests and the fan-out smoke (tests/cluster)

WORKERS ?= 2
PORT ?= 8080
CLUSTER_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/ecabinet_cluster_ci
CLUSTER_TEST_REDIS_URL ?= redis://127.0.0.1:6379/2

.PHONY: cluster test-cluster

cluster: sysdeps install messages
	@exec $(PYTHON) deploy/cluster.py up --workers $(WORKERS) --port $(PORT) --seed

# Each run makes a database of its own on the server of CLUSTER_TEST_DATABASE_URL (and drops it), so
# that runs sharing a machine never meet. Without the services the tier is skipped with a message --
# unless CI is set, where a missing PostgreSQL, Redis or nginx is a failure.
test-cluster: install messages
	@if ! problems=$$(DATABASE_URL=$(CLUSTER_TEST_DATABASE_URL) REDIS_URL=$(CLUSTER_TEST_REDIS_URL) \
			$(PYTHON) deploy/cluster.py check 2>&1); then \
		if [ -n "$${CI:-}" ]; then echo "test-cluster: required under CI:" >&2; echo "$$problems" >&2; exit 1; fi; \
		echo "test-cluster: SKIPPED -"; echo "$$problems"; exit 0; fi; \
	echo "test-cluster: the scale-out tier (Daphne workers behind nginx, PostgreSQL, Redis)"; \
	status=0; DATABASE_URL=$(CLUSTER_TEST_DATABASE_URL) REDIS_URL=$(CLUSTER_TEST_REDIS_URL) \
		$(PYTHON) -m pytest -p no:cacheprovider -m "not browser" -rs tests/cluster || status=$$?; \
	if [ "$$status" = 5 ]; then echo "test-cluster: pytest collected no tests" >&2; exit 1; fi; \
	exit "$$status"
