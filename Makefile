# Two commands do everything on a fresh machine:  `make demo`  and  `make test`.
VENV ?= .venv
STAMP := $(VENV)/.ragadapt-installed
# One OpenMP thread per process: on a busy 2-core box the default busy-waiting makes tiny-model steps 20-100x slower.
export OMP_NUM_THREADS ?= 1
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup demo test bench
setup: $(STAMP)
$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh

demo: $(STAMP)
	OMP_NUM_THREADS=$$(nproc) $(VENV)/bin/ragadapt demo

# One test process per core (pytest-xdist; OMP_NUM_THREADS=1 keeps each to one thread); a file's tests stay in one
# process, so its module fixtures are built once. TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= auto
test: $(STAMP)
	$(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(VENV)/bin/python $$b || exit 1; done
