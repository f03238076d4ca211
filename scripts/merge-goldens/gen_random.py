# Statistical goldens for mergekit's random merges: DARE's bernoulli masks, DELLA's rank-based
# keep probabilities, and arcee_fusion's sampled quantiles on tensors past 1e6 entries. mergekit
# draws from torch's global generator (not reproducible per tensor); dusk draws from its own
# generator keyed by tensor name, so the tests compare distributions: per-element means,
# variances and keep rates over many runs (the test statistics are in src/merge's tests).
# Usage: PYTHONPATH=<work dir with mergekit + shims> python3 gen_random.py OUT_DIR COMMIT
import base64
import json
import sys

import torch

import mergekit.merge_methods as mm
from mergekit.architecture import WeightInfo
from mergekit.common import ImmutableMap, ModelReference
from mergekit.merge_methods.arcee_fusion import ArceeFusionMergeTask, DynamicThresholdFusion
from mergekit.merge_methods.generalized_task_arithmetic import GTATask
from mergekit.sparsify import RescaleNorm, SparsificationMethod, sparsify

out_dir, commit = sys.argv[1], sys.argv[2]
REFS = [ModelReference(f"m{i}") for i in range(4)]


def b64(t):
    return base64.b64encode(t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()).decode()


def f64(t):
    return base64.b64encode(t.detach().to(torch.float64).contiguous().numpy().astype("<f8").tobytes()).decode()


def inputs(seed, shape, n, spread=0.005):
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(shape, generator=g) * 0.02
    return [base] + [base + torch.randn(shape, generator=g) * spread for _ in range(n - 1)]


def summarize(samples):
    s = torch.stack([x.to(torch.float64) for x in samples])
    return {"mean": f64(s.mean(0)), "var": f64(s.var(0, unbiased=True))}


RUNS = 2000
out = {"mergekit": commit, "torch": torch.__version__, "runs": RUNS, "sparsify": [], "methods": []}

# sparsify() alone on one task vector: keep frequency per element and the rescaled values
for name, method, density, kw, rescale in [
    ("bernoulli 0.3 l1", SparsificationMethod.random, 0.3, {}, True),
    ("bernoulli 0.7 no rescale", SparsificationMethod.random, 0.7, {}, False),
    ("della 0.4 eps 0.15 l1", SparsificationMethod.della_magprune, 0.4, {"epsilon": 0.15}, True),
    ("della 0.5 eps 0.3 1-D", SparsificationMethod.della_magprune, 0.5, {"epsilon": 0.3}, True),
]:
    shape = [130] if "1-D" in name else [12, 20]
    g = torch.Generator().manual_seed(len(out["sparsify"]) + 7)
    delta = torch.randn(shape, generator=g) * 0.005
    torch.manual_seed(1234)
    samples = [sparsify(delta, density=density, method=method, rescale_norm=RescaleNorm.l1 if rescale else None, **kw) for _ in range(RUNS)]
    keep = torch.stack([(x != 0).to(torch.float64) for x in samples]).mean(0)
    out["sparsify"].append({
        "name": name, "method": method.value, "density": density, **kw, "rescale": rescale,
        "delta": b64(delta), "shape": shape, "keep": f64(keep), **summarize(samples),
    })

# whole methods: dare_ties, dare_linear, della, della_linear
for name, method, per, glob in [
    ("dare_ties", "dare_ties", [{}, {"weight": 1.0, "density": 0.4}, {"weight": 0.7, "density": 0.6}], {}),
    ("dare_linear", "dare_linear", [{}, {"weight": 0.5, "density": 0.3}, {"weight": 0.5, "density": 0.5}], {}),
    ("dare_ties no rescale", "dare_ties", [{}, {"weight": 1.0, "density": 0.5}, {"weight": 1.0, "density": 0.5}], {"rescale": False}),
    ("della", "della", [{}, {"weight": 1.0, "density": 0.5, "epsilon": 0.1}, {"weight": 0.8, "density": 0.4, "epsilon": 0.2}], {}),
    ("della_linear", "della_linear", [{}, {"weight": 0.6, "density": 0.5, "epsilon": 0.15}, {"weight": 0.4, "density": 0.5, "epsilon": 0.15}], {"lambda": 1.1}),
]:
    xs = inputs(len(out["methods"]) + 21, [8, 24], 3)
    m = mm.REGISTERED_MERGE_METHODS[method]
    torch.manual_seed(4321)
    samples = []
    for _ in range(RUNS):
        task = GTATask(
            method=m, tensors=None, base_model=REFS[0], weight_info=WeightInfo(name="model.layers.0.mlp.up_proj.weight"),
            tensor_parameters=ImmutableMap({REFS[i]: ImmutableMap(p) for i, p in enumerate(per)}),
            int8_mask=False, normalize=glob.get("normalize", m.default_normalize), lambda_=glob.get("lambda", 1.0),
            rescale_norm=RescaleNorm.l1 if glob.get("rescale", m.default_rescale) else None,
        )
        samples.append(task.execute(tensors={REFS[i]: x.clone() for i, x in enumerate(xs)}))
    out["methods"].append({
        "name": name, "method": method, "base": 0, "params": glob, "shape": [8, 24],
        "inputs": [{"params": p, "data": b64(x)} for x, p in zip(xs, per)], **summarize(samples),
    })


# arcee_fusion past 1e6 entries samples 1e6 of them (torch.randperm) for its quantiles.
def hashed(n, salt, scale):
    i = torch.arange(n, dtype=torch.int64)
    u = ((i * 2654435761 + salt * 40503) % 4294967296).to(torch.float64) / 4294967296.0
    return ((u - 0.5) * scale).to(torch.float32)


rows, cols = 1100, 1000
base = hashed(rows * cols, 1, 0.04).view(rows, cols)
other = (base + hashed(rows * cols, 2, 0.02).view(rows, cols)).contiguous()
task = ArceeFusionMergeTask(gather_tensors=None, base_model=REFS[0], weight_info=WeightInfo(name="model.layers.0.mlp.up_proj.weight"))
importance = task._compute_importance(other, base)
fusion = DynamicThresholdFusion()
flat = torch.sort(importance.view(-1))[0]
exact = {}
for q in (0.25, 0.5, 0.75):
    exact[str(q)] = float(flat[int(q * (flat.numel() - 1))])
thresholds, kept = [], []
for k in range(60):
    torch.manual_seed(100 + k)
    mask, threshold = fusion.compute_fusion_mask(importance)
    thresholds.append(float(threshold))
    kept.append(float(mask.mean()))
t = torch.tensor(thresholds, dtype=torch.float64)
kp = torch.tensor(kept, dtype=torch.float64)
out["arcee_fusion"] = {
    "rows": rows, "cols": cols, "inputs": "hashed(n, salt, scale): u = ((i·2654435761 + salt·40503) mod 2^32) / 2^32, f32((u − 0.5)·scale); base salt 1 scale 0.04, other = base + hashed(salt 2, scale 0.02)",
    "runs": len(thresholds), "threshold_mean": float(t.mean()), "threshold_std": float(t.std()),
    "kept_mean": float(kp.mean()), "kept_std": float(kp.std()), "exact_quantiles": exact,
}

with open(f"{out_dir}/random.json", "w") as f:
    json.dump(out, f, indent=1)
print(f"random.json: {len(out['sparsify'])} sparsify cases, {len(out['methods'])} methods, arcee_fusion sampling")
