# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv when missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) on PATH (or make PY=python3)"; exit 2; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/qdlab run campaigns/examples/cdse-green.toml --sim --out runs/demo --force

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/qdlab bench --campaign campaigns/examples/cdse-green.toml --strategies botorch,sobol,random --repeats 10 --budget 30 --json --out bench-out/bench.json

clean:
	rm -rf $(VENV) runs bench-out
