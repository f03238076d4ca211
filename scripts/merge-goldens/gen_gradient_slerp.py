# The gradient-slerp example of mergekit's examples/ on two tiny dusk-generated models: each
# tensor's t from mergekit's own evaluate_setting (config.py) with the planner's rules (plan.py:
# layers at t = idx/(n−1), embeddings/norm/head at t = 0, global parameters filtered on the
# output tensor's name), inputs cast to the example's dtype (float16), then mergekit's SlerpTask.
# The golden holds a SHA-256 per output tensor (and two tensors' values) plus the inputs' digests.
# Usage: PYTHONPATH=<work dir> python3 gen_gradient_slerp.py EXAMPLE_YML MODELS_DIR OUT_DIR COMMIT
import base64
import hashlib
import json
import struct
import sys
from types import SimpleNamespace

import torch
import yaml

from mergekit.architecture import WeightInfo
from mergekit.common import ModelReference
from mergekit.config import evaluate_setting
from mergekit.merge_methods.slerp import SlerpTask

example, models_dir, out_dir, commit = sys.argv[1:5]
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        s, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[s:e]), dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = t
    return out, hashlib.sha256(raw).hexdigest()


config = yaml.safe_load(open(example))
a_ref, b_ref = [s["model"] for s in config["slices"][0]["sources"]]
a, a_digest = read_safetensors(f"{models_dir}/a/model.safetensors")
b, b_digest = read_safetensors(f"{models_dir}/b/model.safetensors")
n_layers = 1 + max(int(k.split(".")[2]) for k in a if k.startswith("model.layers."))


def conditions(setting):
    # evaluate_setting reads a conditional list's entries as objects with .filter and .value
    if isinstance(setting, list) and setting and isinstance(setting[0], dict):
        return [SimpleNamespace(filter=c.get("filter"), value=c["value"]) for c in setting]
    return setting


t_setting = conditions(config["parameters"]["t"])
A, B = ModelReference("a"), ModelReference("b")
dtype = DTYPES[{"float16": "F16", "bfloat16": "BF16", "float32": "F32"}[config["dtype"]]]


def merge(name, t_pos):
    t = evaluate_setting(name, t_setting, t_pos)
    task = SlerpTask(gather_tensors=None, base_model=A if config["base_model"] == a_ref else B, t=t, weight_info=WeightInfo(name=name, is_embed="embed" in name or "lm_head" in name))
    return task.execute(tensors={A: a[name].to(dtype), B: b[name].to(dtype)}), t


names = [k for k in a]
outputs = {}
ts = {}
for name in names:
    if name.startswith("model.layers."):
        idx = int(name.split(".")[2])
        t_pos = idx / (n_layers - 1) if n_layers > 1 else 1
    else:
        t_pos = 0  # plan_module: embeddings, final norm and head at t = 0
    y, t = merge(name, t_pos)
    outputs[name] = y
    ts[name] = t

golden = {
    "mergekit": commit,
    "example": "examples/gradient-slerp.yml",
    "example_text": open(example).read(),
    "models": json.load(open(f"{models_dir}/options.json")),
    "layers": n_layers,
    "dtype": config["dtype"],
    "inputs": {"a": a_digest, "b": b_digest},
    "t": ts,
    "sha256": {k: hashlib.sha256(v.contiguous().view(torch.int16).numpy().tobytes()).hexdigest() for k, v in outputs.items()},
    "values": {k: base64.b64encode(outputs[k].to(torch.float32).numpy().astype("<f4").tobytes()).decode() for k in ["model.layers.3.self_attn.q_proj.weight", "model.layers.5.mlp.up_proj.weight"]},
}
with open(f"{out_dir}/gradient-slerp.json", "w") as f:
    json.dump(golden, f, indent=1)
print(f"gradient-slerp.json: {len(outputs)} tensors, {n_layers} layers")
