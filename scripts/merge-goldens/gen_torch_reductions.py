# Goldens for src/merge/torch-f32.ts: torch's own float32 reductions (sum, the 2-norm, column
# sums) on vectors from a hash both sides compute (no data stored, only the results), single
# threaded as mergekit's small tensors run. Usage: python3 gen_torch_reductions.py OUT_DIR
import base64
import json
import sys

import numpy as np
import torch

torch.set_num_threads(1)
out_dir = sys.argv[1]


def values(n, salt, scale):
    """x_i = f32((h(i) / 2^32 − 0.5) · scale), h(i) = i·2654435761 + salt (mod 2^32): test/torch-f32's hashed()."""
    i = np.arange(n, dtype=np.uint32)
    h = (i * np.uint32(2654435761) + np.uint32(salt)).astype(np.uint32)
    return torch.from_numpy(((h.astype(np.float64) / 2**32 - 0.5) * scale).astype(np.float32))


def bits(t):
    return base64.b64encode(t.detach().contiguous().reshape(-1).numpy().astype("<f4").tobytes()).decode()


runs = []
for k, n in enumerate([1, 3, 7, 8, 9, 31, 32, 33, 127, 128, 129, 513, 1000, 4097, 8199, 65539, 1048581, 16777293]):
    x = values(n, 12345 + k, 2.0 ** (k % 5 - 2))
    runs.append({"n": n, "salt": 12345 + k, "scale": 2.0 ** (k % 5 - 2), "sum": bits(x.sum()), "norm": bits(torch.norm(x)), "abs_sum": bits(x.abs().sum())})

blocks = []
for k, (rows, cols) in enumerate([(2, 7), (3, 24), (5, 40), (9, 77), (17, 100), (6, 24), (24, 6), (40, 3)]):
    x = values(rows * cols, 999 + k, 1.0).view(rows, cols)
    blocks.append({
        "rows": rows, "cols": cols, "salt": 999 + k, "scale": 1.0,
        "column_sums": bits(x.sum(0)), "row_sums": bits(x.sum(-1)),
        "row_norms": bits(torch.norm(x, dim=-1)), "column_norms": bits(torch.norm(x, dim=0)),
    })

# acos, sin and cos (SLEEF's vector functions): hashed inputs, then edge values
edges = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 0.49999997, -0.49999997, 0.5000001, 1e-20, -1e-20, 0.99999994, -0.99999994]
trig = {}
for name, fn, scale, extra in [("acos", torch.acos, 2.0, edges), ("sin", torch.sin, 250.0, edges + [3.1415927, 1.5707964, -124.99999]),
                               ("cos", torch.cos, 250.0, edges + [3.1415927, 1.5707964, 124.99999]), ("sin_angles", torch.sin, 8.0, [])]:
    x = torch.cat([values(3000, 4242 + len(trig), scale), torch.tensor(extra, dtype=torch.float32)])
    if name == "sin_angles":
        x = x.abs()  # [0, 4): the angles slerp takes sines of
    trig[name] = {"in": bits(x), "out": bits(fn(x))}

json.dump({"torch": torch.__version__, "runs": runs, "blocks": blocks, "trig": trig}, open(f"{out_dir}/torch-reductions.json", "w"), indent=1)
