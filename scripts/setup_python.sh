#!/usr/bin/env bash
# Creates the project-local virtualenvs under .venv/ with pinned packages from PyPI:
#   .venv/duckdb-1.5.6  .venv/duckdb-2.0.1  (SQL test hosts)
#   .venv/duckdb-1.5.2  (an older host that must refuse the extension cleanly)
#   .venv/cli           (duckdb-cli 1.5.6, for the demo)
#   .venv/ref           (reference Python packages for parity tests and benchmarks)
# Idempotent: a venv whose stamp matches its requirements is left alone.
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
what=${1:-all}
case $what in
  hosts|all)
    mk duckdb-1.5.6 duckdb==1.5.6 pyarrow==26.0.1
    mk duckdb-2.0.1 duckdb==2.0.1 pyarrow==26.0.1
    mk duckdb-1.5.2 duckdb==1.5.2
    mk cli duckdb-cli==1.5.6 ;;&
  ref|all)
    mk ref -r scripts/requirements-ref.txt duckdb==1.5.6 ;;
esac
