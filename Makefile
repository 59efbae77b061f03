# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv when missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint test-under-load bench clean browser redis screenshot

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) on PATH (or make PY=python3)"; exit 2; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,queue]"
	touch $(STAMP)

# A previous demo is moved aside to runs/demo.replaced-<time> by --force, never deleted (make clean removes runs/).
demo: $(STAMP)
	$(BIN)/qdlab run campaigns/examples/cdse-green.toml --sim --out runs/demo --force
	$(BIN)/qdlab report runs/demo

# Three workers (-n 3, pytest-xdist) on CI's 2 cores: a third of the suite's time is spent waiting on
# subprocesses and servers (signals, kill -9, Tiled, queue servers, emulated rigs on the wall clock), so
# one more worker than cores keeps both busy: 7:52 against 8:50-9:30 with -n 2 on the same machine
# (2026-12-07). --dist loadfile keeps each file's module fixtures in one worker. Handing out the slowest
# files first (--no-loadscope-reorder and a slow-first collection order) was tried and was slower, 9:40
# against 8:21 on the same idle machine: the subprocess-heavy end-to-end files then all run at once and
# contend for the two cores. TESTS narrows the run (e.g. make test TESTS=tests/lab/store/test_tiled.py);
# PYTEST_ARGS adds options (e.g. PYTEST_ARGS=--durations=25).
WORKERS ?= 3
TESTS ?=
PYTEST_ARGS ?=
PYTEST = $(BIN)/python -m pytest -q -n $(WORKERS) --dist loadfile $(PYTEST_ARGS) $(TESTS)

test: lint browser redis
	$(PYTEST)

# Format, lint and types (ruff, basedpyright: configured in pyproject.toml); make test runs it first. The same hooks run
# before each commit once `.venv/bin/pre-commit install` (optional) or by hand: make lint.
lint: $(STAMP)
	$(BIN)/ruff format --check --diff .
	$(BIN)/ruff check .
	$(BIN)/basedpyright

# The same suite with HOGS busy loops (default: one per core CI has) competing for the CPU, to show that
# no test depends on how fast the wall clock runs (docs/reliability.md, A busy machine). The loops end
# with the target, however it ends; CI runs it after make test.
HOGS ?= 2
test-under-load: $(STAMP) browser redis
	@hogs=""; for i in $$(seq $(HOGS)); do $(BIN)/python -c 'while True: pass' & hogs="$$hogs $$!"; done; \
	trap 'kill $$hogs 2>/dev/null' EXIT INT TERM; \
	echo "under load: $(HOGS) busy loops ($$hogs)"; \
	$(PYTEST)

# Headless Chromium renders the report in tests/lab/view/test_report.py (skipped, with the reason, without it).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium not installed: the browser test will be skipped (apt-get install chromium)"; }

# redis-server, which bluesky-queueserver needs: tests/lab/queue start their own on a free loopback port
# (skipped, with the reason, without it).
redis:
	@command -v redis-server >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) \
		|| echo "redis-server not installed: the queue-server tests will be skipped (apt-get install redis-server)"; }

# The picture of the demo report in the README (docs/img/report.png).
screenshot: $(STAMP) browser
	test -f runs/demo/documents.jsonl || $(BIN)/qdlab run campaigns/examples/cdse-green.toml --sim --out runs/demo --force
	$(BIN)/qdlab report runs/demo
	$(BIN)/python tests/lab/view/browser.py runs/demo/report.html docs/img/report.png

# The bench extra (Ax, BayBE) on top of the test install; make test and make demo never install it.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,queue,bench]"
	touch $(BENCH_STAMP)

# The suite's reporting problems (docs/benchmarks.md): bench-out/suite.{json,md,png}, the plot also as
# docs/img/bench-suite.png. Options: make bench REPEATS=3 BUDGET=20 SUITE=reporting STRATEGIES=botorch,sobol,random
# (BUDGET empty: each problem's own budget). The single-campaign comparison is bench-campaign; the
# current loop against the time-aware one (issue 17: experiments, reactor hours and precursor to target)
# is bench-time, which make bench runs after the suite (make bench-suite: the suite alone).
SUITE ?= reporting
REPEATS ?= 10
BUDGET ?=
STRATEGIES ?= botorch,ax,baybe,sobol,random

.PHONY: bench-suite bench-time
bench: bench-suite bench-time

bench-suite: $(BENCH_STAMP)
	$(BIN)/qdlab bench --suite $(SUITE) --strategies $(STRATEGIES) --repeats $(REPEATS) $(if $(BUDGET),--budget $(BUDGET)) --out bench-out/suite.json
	mkdir -p docs/img && cp bench-out/suite.png docs/img/bench-suite.png

# The current loop (fixed wait, serial, cost-blind) against the time-aware one (steady state detected and
# cost-aware choice; docs/adr/0015) on cdse-green and inp-red, botorch, 10 repeats each:
# bench-out/time-<campaign>.{json,md,png} (docs/benchmarks.md, Reactor hours and precursor), the plots
# also as docs/img/bench-time-<campaign>.png. TIME_CAMPAIGNS, TIME_REPEATS narrow it.
TIME_CAMPAIGNS ?= cdse-green inp-red
TIME_REPEATS ?= 10

bench-time: $(STAMP)
	mkdir -p docs/img
	for c in $(TIME_CAMPAIGNS); do \
		$(BIN)/qdlab bench --campaign campaigns/examples/$$c.toml --strategies botorch --loops current,time-aware \
			--repeats $(TIME_REPEATS) --latency-observations 0 --out bench-out/time-$$c.json || exit 1; \
		cp bench-out/time-$$c.png docs/img/bench-time-$$c.png; \
	done

# One reactor against two, one optimiser (docs/scaling-out.md): Redis and the queue servers on loopback,
# BoTorch on cdse-green; bench-out/reactors.{json,md}. REACTOR_REPEATS, REACTOR_BUDGET narrow it.
REACTOR_REPEATS ?= 3
REACTOR_BUDGET ?= 12

.PHONY: bench-reactors
bench-reactors: $(STAMP) redis
	$(BIN)/python -m tests.lab.queue.bench_reactors --repeats $(REACTOR_REPEATS) --budget $(REACTOR_BUDGET) --out bench-out/reactors.json

.PHONY: bench-campaign
bench-campaign: $(BENCH_STAMP)
	$(BIN)/qdlab bench --campaign campaigns/examples/cdse-green.toml --strategies botorch,ax,baybe,sobol,random --repeats 10 --budget 30 --json --out bench-out/bench.json

clean:
	rm -rf $(VENV) runs bench-out
