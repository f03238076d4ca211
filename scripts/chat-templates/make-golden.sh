#!/bin/sh
# Builds golden.cpp against llama.cpp's own src/llama-chat.cpp (the release node-llama-cpp bundles)
# and writes test/fixtures/chat-template-golden.json: conversations rendered by llama.cpp's
# built-in templates. Needs git and g++.  Run from the repository root: sh scripts/chat-templates/make-golden.sh
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -c advice.detachedHead=false clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle "$work/llama.cpp"
g++ -std=c++17 -I "$work/llama.cpp/include" -I "$work/llama.cpp/ggml/include" -I "$work/llama.cpp/src" \
  scripts/chat-templates/golden.cpp "$work/llama.cpp/src/llama-chat.cpp" -o "$work/golden"
"$work/golden" > test/fixtures/chat-template-golden.json
echo "wrote test/fixtures/chat-template-golden.json"
