#!/usr/bin/env bash
# Regenerates test/fixtures/merge/ from mergekit's own merge functions. Not run in CI (CI has no
# Python). Needs Debian's /usr/bin/python3 with python3-torch and python3-numpy, and a checkout
# of github.com/arcee-ai/mergekit at the pinned commit (MERGEKIT=path; its HEAD is checked).
# pydantic and transformers are not installable here: the method modules need pydantic only as a
# keyword-record base class, so shim/ stands in for it and for the mergekit modules around the
# methods (architecture, common, graph, io, tokenizer); easy_define's registration is replaced by
# a plain decorator and the generators call the decorated functions directly. The math that runs
# is mergekit's: merge_methods/*.py and sparsify.py copied from the checkout unchanged.
set -euo pipefail
PINNED=a6e402884ba9bc30da7f23e8304a35f19485de95
repo="$(cd "$(dirname "$0")/../.." && pwd)"
here="$repo/scripts/merge-goldens"
fixtures="$repo/test/fixtures/merge"
mergekit="${MERGEKIT:?set MERGEKIT to a mergekit checkout at $PINNED}"
head="$(git -C "$mergekit" rev-parse HEAD)"
[ "$head" = "$PINNED" ] || { echo "mergekit checkout is at $head, the goldens pin $PINNED" >&2; exit 1; }
py=/usr/bin/python3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cp -r "$here/shim/." "$work/"
mkdir -p "$work/mergekit/merge_methods"
cp "$mergekit"/mergekit/merge_methods/*.py "$work/mergekit/merge_methods/"
cp "$mergekit/mergekit/sparsify.py" "$mergekit/mergekit/config.py" "$work/mergekit/"
cp "$here/shim/easy_define.py" "$work/mergekit/merge_methods/easy_define.py"
mkdir -p "$fixtures"
PYTHONPATH="$work" PYTHONHASHSEED=0 "$py" "$here/gen_methods.py" "$fixtures" "$PINNED"
PYTHONPATH="$work" PYTHONHASHSEED=0 "$py" "$here/gen_random.py" "$fixtures" "$PINNED"
# torch's own float32 reductions and SLEEF's trig, on hashed data (torch only, no mergekit)
"$py" "$here/gen_torch_reductions.py" "$fixtures"
# the gradient-slerp example on two tiny dusk-generated models
(cd "$repo" && npx tsc -p tsconfig.json && node "$here/make-models.mjs" "$work/models")
PYTHONPATH="$work" PYTHONHASHSEED=0 "$py" "$here/gen_gradient_slerp.py" "$mergekit/examples/gradient-slerp.yml" "$work/models" "$fixtures" "$PINNED"
