#!/usr/bin/env bash
# Regenerates test/fixtures/quant/ from llama.cpp itself: builds llama-quantize, llama-imatrix and
# libggml-base from the source bundled in node-llama-cpp (build-llama.sh, outside the repo), then
#   block-goldens.mjs  ggml's quantize/dequantize on stored rows and random blocks → blocks.json
#   model-goldens.mjs  llama-quantize / llama-imatrix on the tiny models → models.json,
#                      k256.imatrix.{gguf,dat}, stack-types.json
# Not run in CI (it needs cmake, g++ and ~30 minutes of two cores). Usage: bash regenerate.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="$(bash "$here/build-llama.sh")"
root="$(dirname "$(dirname "$bin")")"
gcc -O2 -I"$root/llama.cpp/ggml/include" "$here/ggml-blocks.c" "$root/build/ggml/src/libggml-base.a" -lstdc++ -lm -lpthread -o "$root/ggml-blocks"
mkdir -p "$repo/test/fixtures/quant"
node "$here/block-goldens.mjs" "$root/ggml-blocks"
(cd "$repo" && npx tsc -p tsconfig.json)
node "$here/model-goldens.mjs" "$bin"
git -C "$root/llama.cpp" rev-parse HEAD > "$repo/test/fixtures/quant/LLAMA_CPP_COMMIT"
