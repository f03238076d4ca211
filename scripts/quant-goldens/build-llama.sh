#!/usr/bin/env bash
# Builds llama.cpp's quantization reference tools from the source bundled in node-llama-cpp (the
# llama.cpp whose binaries dusk runs): llama-quantize, llama-imatrix and the ggml-base library that
# scripts/quant-goldens/ggml-blocks.c links. CPU only, static, no network; the build lives outside the
# repo (default /tmp/dusk-llama-quant, or $DUSK_LLAMA_BUILD). Run by regenerate.sh; idempotent.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
root="${DUSK_LLAMA_BUILD:-/tmp/dusk-llama-quant}"
jobs="${JOBS:-2}"
mkdir -p "$root"
if [ ! -d "$root/llama.cpp" ]; then
  git -c advice.detachedHead=false clone -q "$repo/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$root/llama.cpp"
fi
cmake -S "$root/llama.cpp" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF > "$root/cmake.log"
cmake --build "$root/build" -j "$jobs" --target llama-quantize llama-imatrix > "$root/build.log"
echo "$root/build/bin"
