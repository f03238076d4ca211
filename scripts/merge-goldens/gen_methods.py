# Merge goldens from mergekit's own merge functions (pinned commit: see regenerate.sh and
# test/fixtures/merge/README.md). Runs the real method modules (mergekit/merge_methods/*.py,
# mergekit/sparsify.py) on small seeded tensors and writes inputs, parameters and outputs as
# JSON for src/merge's tests. Random methods (DARE, DELLA) are run many times and summarised
# (per-element mean, variance and keep rate), since dusk draws from its own seeded generator.
# Usage: PYTHONPATH=<work dir with mergekit + shims> python3 gen_methods.py OUT_DIR COMMIT
import base64
import json
import sys

import numpy as np
import torch

import mergekit.merge_methods as mm
from mergekit.architecture import WeightInfo
from mergekit.common import ImmutableMap, ModelReference
from mergekit.merge_methods.arcee_fusion import ArceeFusionMergeTask
from mergekit.merge_methods.generalized_task_arithmetic import GTATask
from mergekit.merge_methods.karcher import KarcherTask
from mergekit.merge_methods.linear import LinearMergeTask
from mergekit.merge_methods.model_stock import ModelStockMergeTask
from mergekit.merge_methods.multislerp import multislerp
from mergekit.merge_methods.nearswap import nearswap_merge
from mergekit.merge_methods.nuslerp import NuSlerpTask
from mergekit.merge_methods.passthrough import PassthroughMergeTask
from mergekit.merge_methods.ram import ram_merge, ramplus_tl_merge
from mergekit.merge_methods.sce import sce_merge
from mergekit.merge_methods.slerp import SlerpTask
from mergekit.sparsify import RescaleNorm

out_dir, commit = sys.argv[1], sys.argv[2]
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
REFS = [ModelReference(f"m{i}") for i in range(8)]


def b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()).decode()


def make_inputs(seed, shape, n, spread=0.005, zero_frac=0.0, kind="task"):
    """n tensors: a base ~ N(0, 0.02) and n−1 fine-tunes = base + N(0, spread) (some deltas zeroed)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(shape, generator=g) * 0.02
    if kind == "independent":
        return [torch.randn(shape, generator=g) * 0.02 for _ in range(n)]
    out = [base]
    for _ in range(n - 1):
        delta = torch.randn(shape, generator=g) * spread
        if zero_frac > 0:
            delta = delta * (torch.rand(shape, generator=g) >= zero_frac).to(torch.float32)
        out.append(base + delta)
    return out


def tp(params_list):
    return ImmutableMap({REFS[i]: ImmutableMap(p) for i, p in enumerate(params_list)})


def run_gta(method_name, xs, per, glob, wi):
    method = mm.REGISTERED_MERGE_METHODS[method_name]
    task = GTATask(
        method=method, tensors=None, base_model=REFS[0], weight_info=wi,
        tensor_parameters=tp(per), int8_mask=glob.get("int8_mask", False),
        normalize=glob.get("normalize", method.default_normalize), lambda_=glob.get("lambda", 1.0),
        rescale_norm=RescaleNorm.l1 if glob.get("rescale", method.default_rescale) else None,
    )
    return task.execute(tensors={REFS[i]: x for i, x in enumerate(xs)})


def run(method, xs, per, glob, embed=False, name="model.layers.0.mlp.up_proj.weight"):
    wi = WeightInfo(name=name, is_embed=embed)
    tensors = {REFS[i]: x for i, x in enumerate(xs)}
    if method == "linear":
        return LinearMergeTask(gather_tensors=None, tensor_parameters=tp(per), normalize=glob["normalize"], weight_info=wi).execute(tensors=tensors)
    if method == "slerp":
        return SlerpTask(gather_tensors=None, base_model=REFS[0], t=glob["t"], weight_info=wi).execute(tensors=tensors)
    if method == "nuslerp":
        base = REFS[0] if glob.get("_base") else None
        return NuSlerpTask(gather_tensors=None, tensor_parameters=tp(per), weight_info=wi, row_wise=glob["nuslerp_row_wise"], flatten=glob["nuslerp_flatten"], base_model=base).execute(tensors=tensors)
    if method == "multislerp":
        base = xs[0] if glob.get("_base") else None
        others = xs[1:] if glob.get("_base") else xs
        weights = [p["weight"] for p in (per[1:] if glob.get("_base") else per)]
        return multislerp(tensors=list(others), weight=weights, base_tensor=base, normalize_weights=glob["normalize_weights"], eps=glob["eps"])
    if method == "karcher":
        return KarcherTask(gather_tensors=None, weight_info=wi, max_iter=glob["max_iter"], tol=glob["tol"]).execute(tensors=tensors)
    if method in mm.REGISTERED_MERGE_METHODS and hasattr(mm.REGISTERED_MERGE_METHODS[method], "consensus_method"):
        return run_gta(method, xs, per, glob, wi)
    if method == "sce":
        return sce_merge(tensors=list(xs[1:]), base_tensor=xs[0], int8_mask=glob["int8_mask"], select_topk=glob["select_topk"])
    if method == "model_stock":
        return ModelStockMergeTask(gather_tensors=None, base_model=REFS[0], weight_info=wi, filter_wise=glob["filter_wise"]).execute(tensors=tensors)
    if method == "nearswap":
        return nearswap_merge(tensors=list(xs[1:]), base_tensor=xs[0], t=glob["t"])
    if method == "arcee_fusion":
        return ArceeFusionMergeTask(gather_tensors=None, base_model=REFS[0], weight_info=wi).execute(tensors=tensors)
    if method == "ram":
        return ram_merge(tensors=list(xs[1:]), base_tensor=xs[0], epsilon=glob["epsilon"])
    if method == "ramplus_tl":
        return ramplus_tl_merge(tensors=list(xs[1:]), base_tensor=xs[0], r=glob["r"], alpha=glob["alpha"], epsilon=glob["epsilon"])
    if method == "passthrough":
        return PassthroughMergeTask(gather_tensors=None, tensor_parameters=tp(per)).execute(tensors=tensors)
    raise RuntimeError(method)


CASES = []


def case(name, method, seed, shape, n, per, glob, dtype="F32", base=0, embed=False, **kw):
    CASES.append(dict(name=name, method=method, seed=seed, shape=shape, n=n, per=per, glob=glob, dtype=dtype, base=base, embed=embed, kw=kw))


S = [6, 24]
W3 = [{"weight": 1.0}, {"weight": 0.3}, {"weight": 0.5}]
case("linear normalized", "linear", 1, S, 3, W3, {"normalize": True})
case("linear unnormalized", "linear", 2, S, 3, W3, {"normalize": False})
case("linear gradient-evaluated weights", "linear", 3, S, 2, [{"weight": 0.123456789}, {"weight": 0.7}], {"normalize": True})
case("linear bf16", "linear", 4, S, 3, W3, {"normalize": True}, dtype="BF16")
case("linear f16", "linear", 5, S, 3, W3, {"normalize": True}, dtype="F16")
case("slerp t=0.3", "slerp", 10, S, 2, [{}, {}], {"t": 0.3}, kind="independent")
case("slerp t=0.75 large", "slerp", 11, [40, 33], 2, [{}, {}], {"t": 0.75}, kind="independent")
case("slerp colinear (lerp)", "slerp", 12, S, 2, [{}, {}], {"t": 0.4}, spread=1e-6)
case("slerp 1-D", "slerp", 13, [130], 2, [{}, {}], {"t": 0.6}, kind="independent")
case("slerp f16", "slerp", 14, S, 2, [{}, {}], {"t": 0.3}, dtype="F16", kind="independent")
case("slerp bf16", "slerp", 15, S, 2, [{}, {}], {"t": 0.8}, dtype="BF16", kind="independent")
case("nuslerp flatten", "nuslerp", 20, S, 2, [{"weight": 0.4}, {"weight": 0.6}], {"nuslerp_row_wise": False, "nuslerp_flatten": True}, kind="independent")
case("nuslerp rows", "nuslerp", 21, S, 2, [{"weight": 1.0}, {"weight": 3.0}], {"nuslerp_row_wise": False, "nuslerp_flatten": False}, kind="independent")
case("nuslerp columns", "nuslerp", 22, S, 2, [{"weight": 2.0}, {"weight": 1.0}], {"nuslerp_row_wise": True, "nuslerp_flatten": False}, kind="independent")
case("nuslerp with base", "nuslerp", 23, S, 3, [{}, {"weight": 0.5}, {"weight": 0.5}], {"nuslerp_row_wise": False, "nuslerp_flatten": True, "_base": True})
case("multislerp three", "multislerp", 30, S, 3, [{"weight": 0.2}, {"weight": 0.3}, {"weight": 0.5}], {"normalize_weights": True, "eps": 1e-8}, kind="independent", base=None)
case("multislerp unequal two (not slerp)", "multislerp", 31, S, 2, [{"weight": 0.25}, {"weight": 0.75}], {"normalize_weights": True, "eps": 1e-8}, kind="independent", base=None)
case("multislerp with base", "multislerp", 32, S, 3, [{}, {"weight": 1.0}, {"weight": 2.0}], {"normalize_weights": True, "eps": 1e-8, "_base": True})
case("karcher three", "karcher", 40, S, 3, [{}, {}, {}], {"max_iter": 10, "tol": 1e-5}, kind="independent", base=None)
case("karcher base averaged in", "karcher", 41, S, 2, [{}, {}], {"max_iter": 10, "tol": 1e-5}, kind="independent", base=None)
W = [{}, {"weight": 1.0, "density": 1.0}, {"weight": 0.6, "density": 1.0}]
case("task_arithmetic", "task_arithmetic", 50, S, 3, W, {})
case("task_arithmetic lambda normalize", "task_arithmetic", 51, S, 3, W, {"lambda": 0.7, "normalize": True})
case("task_arithmetic bf16", "task_arithmetic", 52, S, 3, W, {}, dtype="BF16")
WD = [{}, {"weight": 1.0, "density": 0.5}, {"weight": 0.6, "density": 0.3}]
case("ties density 0.5/0.3", "ties", 60, S, 3, WD, {})
case("ties density 1", "ties", 61, S, 3, W, {})
case("ties unnormalized rescale", "ties", 62, S, 3, WD, {"normalize": False, "rescale": True})
case("ties int8_mask lambda", "ties", 63, S, 3, WD, {"int8_mask": True, "lambda": 1.3})
case("ties bf16", "ties", 64, S, 3, WD, {}, dtype="BF16")
case("ties four models", "ties", 65, S, 4, WD + [{"weight": 0.9, "density": 0.7}], {})
WB = [{}, {"weight": 1.0, "density": 0.6, "gamma": 0.05}, {"weight": 0.5, "density": 0.4, "gamma": 0.1}]
case("breadcrumbs", "breadcrumbs", 70, S, 3, WB, {})
case("breadcrumbs_ties", "breadcrumbs_ties", 71, S, 3, WB, {})
case("breadcrumbs gamma*N<1 zeroes the task vector", "breadcrumbs", 72, S, 3, [{}, {"weight": 1.0, "density": 0.5, "gamma": 0.001}, {"weight": 1.0, "density": 0.5, "gamma": 0.1}], {})
case("breadcrumbs n_bot<0 adjustment", "breadcrumbs", 73, S, 3, [{}, {"weight": 1.0, "density": 0.98, "gamma": 0.05}, {"weight": 1.0, "density": 0.5, "gamma": 0.1}], {})
case("sce topk 0.5", "sce", 80, S, 3, [{}, {}, {}], {"int8_mask": False, "select_topk": 0.5})
case("sce no topk", "sce", 81, S, 4, [{}, {}, {}, {}], {"int8_mask": False, "select_topk": 1.0})
case("model_stock", "model_stock", 90, S, 3, [{}, {}, {}], {"filter_wise": False})
case("model_stock filter_wise", "model_stock", 91, S, 4, [{}, {}, {}, {}], {"filter_wise": True})
case("model_stock filter_wise 1-D", "model_stock", 92, [24], 3, [{}, {}, {}], {"filter_wise": True})
case("nearswap", "nearswap", 100, S, 2, [{}, {}], {"t": 0.002})
case("nearswap bf16", "nearswap", 101, S, 2, [{}, {}], {"t": 0.003}, dtype="BF16")
case("arcee_fusion", "arcee_fusion", 110, S, 2, [{}, {}], {}, spread=0.01)
case("ram", "ram", 120, S, 4, [{}, {}, {}, {}], {"epsilon": 1e-5}, zero_frac=0.5)
case("ramplus_tl", "ramplus_tl", 121, S, 4, [{}, {}, {}, {}], {"r": 0.1, "alpha": 0.2, "epsilon": 1e-5}, zero_frac=0.5)
case("ramplus_tl wide alpha", "ramplus_tl", 122, S, 3, [{}, {}, {}], {"r": 0.5, "alpha": 0.9, "epsilon": 0.004}, zero_frac=0.3)
case("passthrough scale", "passthrough", 130, S, 1, [{"scale": 0.37}], {})
# the whole-tensor reductions (torch's cascade sum and norm kernels, SLEEF's acos/sin/cos) on
# tensors large enough for the cascade to fold and the vector paths to run, and in bf16
L = [24, 40]
case("nuslerp rows large", "nuslerp", 24, L, 2, [{"weight": 1.0}, {"weight": 2.5}], {"nuslerp_row_wise": False, "nuslerp_flatten": False}, kind="independent")
case("nuslerp columns large", "nuslerp", 25, [37, 45], 2, [{"weight": 2.0}, {"weight": 1.0}], {"nuslerp_row_wise": True, "nuslerp_flatten": False}, kind="independent")
case("nuslerp flatten bf16", "nuslerp", 26, S, 2, [{"weight": 0.4}, {"weight": 0.6}], {"nuslerp_row_wise": False, "nuslerp_flatten": True}, dtype="BF16", kind="independent")
case("multislerp three large", "multislerp", 33, L, 3, [{"weight": 0.2}, {"weight": 0.3}, {"weight": 0.5}], {"normalize_weights": True, "eps": 1e-8}, kind="independent", base=None)
case("multislerp three bf16", "multislerp", 34, S, 3, [{"weight": 0.2}, {"weight": 0.3}, {"weight": 0.5}], {"normalize_weights": True, "eps": 1e-8}, dtype="BF16", kind="independent", base=None)
case("karcher three large", "karcher", 42, L, 3, [{}, {}, {}], {"max_iter": 10, "tol": 1e-5}, kind="independent", base=None)
case("karcher three bf16", "karcher", 43, S, 3, [{}, {}, {}], {"max_iter": 10, "tol": 1e-5}, dtype="BF16", kind="independent", base=None)
case("ties rescale large", "ties", 64, L, 3, [{}, {"weight": 0.6, "density": 0.4}, {"weight": 0.4, "density": 0.6}], {"normalize": False, "rescale": True})
case("sce topk large", "sce", 82, L, 3, [{}, {}, {}], {"int8_mask": False, "select_topk": 0.3})
case("sce bf16", "sce", 83, S, 3, [{}, {}, {}], {"int8_mask": False, "select_topk": 1.0}, dtype="BF16")
case("model_stock large", "model_stock", 93, L, 3, [{}, {}, {}], {"filter_wise": False})
case("model_stock filter_wise six models", "model_stock", 94, [7, 50], 6, [{}, {}, {}, {}, {}, {}], {"filter_wise": True})
case("model_stock bf16", "model_stock", 95, S, 3, [{}, {}, {}], {"filter_wise": False}, dtype="BF16")
case("breadcrumbs bf16", "breadcrumbs", 74, S, 3, WB, {}, dtype="BF16")
case("breadcrumbs_ties bf16", "breadcrumbs_ties", 75, S, 3, WB, {}, dtype="BF16")
case("arcee_fusion bf16", "arcee_fusion", 111, S, 2, [{}, {}], {}, dtype="BF16", spread=0.01)
case("ram bf16", "ram", 123, S, 4, [{}, {}, {}, {}], {"epsilon": 1e-5}, dtype="BF16", zero_frac=0.5)
case("ramplus_tl bf16", "ramplus_tl", 124, S, 4, [{}, {}, {}, {}], {"r": 0.1, "alpha": 0.2, "epsilon": 1e-5}, dtype="BF16", zero_frac=0.5)
case("linear embed rows differ (common submatrix)", "linear", 140, [10, 8], 2, [{"weight": 0.5}, {"weight": 0.5}], {"normalize": True}, embed=True, rows=[10, 7])
case("ties embed rows differ (cut to the base)", "ties", 141, [9, 8], 2, [{}, {"weight": 1.0, "density": 0.5}], {}, embed=True, rows=[9, 11])

out = {"mergekit": commit, "torch": torch.__version__, "numpy": np.__version__, "cases": []}
for c in CASES:
    kw = dict(c["kw"])
    rows = kw.pop("rows", None)
    xs = make_inputs(c["seed"], c["shape"] if rows is None else [max(rows), c["shape"][1]], c["n"], **kw)
    if rows is not None:
        xs = [x[:r].clone() for x, r in zip(xs, rows)]
    xs = [x.to(DTYPES[c["dtype"]]) for x in xs]
    y = run(c["method"], [x.clone() for x in xs], c["per"], c["glob"], embed=c["embed"])
    if y.dtype != DTYPES[c["dtype"]]:
        y = y.to(DTYPES[c["dtype"]])
    glob = {k: v for k, v in c["glob"].items() if not k.startswith("_")}
    base = c["base"] if c["method"] not in ("multislerp", "nuslerp") or c["glob"].get("_base") else None
    if c["method"] in ("linear", "karcher", "passthrough", "slerp"):
        base = 0 if c["method"] == "slerp" else None
    out["cases"].append({
        "name": c["name"], "method": c["method"], "dtype": c["dtype"], "embed": c["embed"],
        **({"base": base} if base is not None else {}),
        "params": glob,
        "inputs": [{"shape": list(x.shape), "params": p, "data": b64(x)} for x, p in zip(xs, c["per"])],
        "shape": list(y.shape), "output": b64(y),
    })

# numpy's float32 arccos and sin, which slerp runs: dusk reproduces them (src/merge/numpy-f32.ts)
rng = np.random.RandomState(5)
sin_in = np.concatenate([(rng.rand(1500) * np.pi).astype(np.float32), (rng.rand(500) * 20 - 10).astype(np.float32)])
acos_in = np.concatenate([(rng.rand(1500) * 2 - 1).astype(np.float32), (rng.rand(500) * 0.02 - 0.01).astype(np.float32), np.array([0.5, -0.5, 0.49999997, -1, 1, 0], dtype=np.float32)])
out["numpy_f32"] = {
    "sin_in": base64.b64encode(sin_in.astype("<f4").tobytes()).decode(), "sin_out": base64.b64encode(np.sin(sin_in).astype("<f4").tobytes()).decode(),
    "acos_in": base64.b64encode(acos_in.astype("<f4").tobytes()).decode(), "acos_out": base64.b64encode(np.arccos(acos_in).astype("<f4").tobytes()).decode(),
}

with open(f"{out_dir}/methods.json", "w") as f:
    json.dump(out, f, indent=1)
print(f"methods.json: {len(out['cases'])} cases")
