# Benchmarks (bench/README.md). Each suite prints a table and writes bench/results/<suite>.json and .png.
#
#   make bench               fan-out, vote storm, minutes, pages, memory against one Daphne process on
#                            SQLite; the vote storm again on PostgreSQL when it answers at $(PG_ADMIN_URL)
#   make bench-cluster       fan-out, vote storm, memory against the scaled-out topology (deploy/cluster.py:
#                            2 Daphne processes behind nginx, PostgreSQL, Redis); results *-cluster.*
#   make bench-quick         a smoke run of every suite with small sizes (a few minutes)
#   BENCH_ARGS="--suite votes --client-procs 4" make bench    pass options to python -m bench.run

.PHONY: bench bench-cluster bench-quick bench-deps

# What the benchmarks need beyond '.[dev]': the baseline server and the clients (websockets), the
# charts (matplotlib), process CPU and memory (psutil). Installed here only when missing.
BENCH_PACKAGES := websockets matplotlib psutil
BENCH_ARGS ?=

bench-deps: install
	@$(PYTHON) -c "import websockets, matplotlib, psutil" 2>/dev/null || \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check $(BENCH_PACKAGES)

bench: sysdeps install messages bench-deps
	$(PYTHON) -m bench.run --pg-admin-url '$(PG_ADMIN_URL)' $(BENCH_ARGS)

bench-quick: sysdeps install messages bench-deps
	$(PYTHON) -m bench.run --quick --pg-admin-url '$(PG_ADMIN_URL)' $(BENCH_ARGS)

bench-cluster: sysdeps install messages bench-deps
	$(PYTHON) -m bench.run --cluster --pg-admin-url '$(PG_ADMIN_URL)' $(BENCH_ARGS)
