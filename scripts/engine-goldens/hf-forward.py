# Goldens for the engine's family features: HF transformers' forward math (modeling_qwen3,
# modeling_gemma, modeling_gemma2, modeling_gemma3, modeling_phi3: their RMSNorm, rotary, attention
# and MLP definitions, written out here in float64 torch because transformers is not installable)
# on tiny models whose weights are the engine's own randomWeights(config, {seed, std}) — the
# seeded generator (mulberry32 + FNV-1a + Box–Muller, src/engine/random-weights.ts) is ported
# below, so only configs, tokens and log-softmax rows go into the golden.
# usage: /usr/bin/python3 scripts/engine-goldens/hf-forward.py > test/fixtures/engine-families-golden.json
import json
import math
import sys

import numpy as np
import torch

M = 0xFFFFFFFF


def imul(a, b):
    return (a * b) & M


def mulberry32(seed):
    state = [seed & M]

    def rand():
        state[0] = (state[0] + 0x6D2B79F5) & M
        t = state[0]
        t = imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + imul(t ^ (t >> 7), t | 61)) & M)) & M
        return ((t ^ (t >> 14)) & M) / 4294967296

    return rand


def stream_seed(seed, name):
    h = (0x811C9DC5 ^ seed) & M
    for ch in name:
        h = imul(h ^ ord(ch), 0x01000193)
    return h


def seeded_normal(seed, name, n, std, mean=0.0):
    rand = mulberry32(stream_seed(seed, name))
    out = np.zeros(n, dtype=np.float32)
    for i in range(0, n, 2):
        u1 = 1 - rand()
        u2 = rand()
        r = math.sqrt(-2 * math.log(u1))
        out[i] = mean + std * r * math.cos(2 * math.pi * u2)
        if i + 1 < n:
            out[i + 1] = mean + std * r * math.sin(2 * math.pi * u2)
    return out


def random_weights(c, seed, std, jitter=0.1):
    """The tensors randomWeights(c, {seed, std}) makes, as float64 torch tensors in HF layouts."""
    D, d, F, V = c["hiddenSize"], c["headDim"], c["intermediateSize"], c["vocabSize"]
    q, kv = c["numHeads"] * d, c["numKvHeads"] * d
    gain = 1 - c.get("normWeightOffset", 0)
    t = lambda a, *shape: torch.tensor(a, dtype=torch.float64).reshape(*shape)
    layers = []
    for i in range(c["numLayers"]):
        n = lambda name, size, s, mean=0.0: seeded_normal(seed, f"layers.{i}.{name}", size, s, mean)
        w = {
            "attnNorm": t(n("attn_norm", D, jitter, gain), D), "wq": t(n("wq", q * D, std), q, D),
            "wk": t(n("wk", kv * D, std), kv, D), "wv": t(n("wv", kv * D, std), kv, D), "wo": t(n("wo", D * q, std), D, q),
            "ffnNorm": t(n("ffn_norm", D, jitter, gain), D), "wGate": t(n("w_gate", F * D, std), F, D),
            "wUp": t(n("w_up", F * D, std), F, D), "wDown": t(n("w_down", D * F, std), D, F),
        }
        if c.get("qkNorm"):
            w["qNorm"] = t(n("q_norm", d, jitter, gain), d)
            w["kNorm"] = t(n("k_norm", d, jitter, gain), d)
        if c.get("sandwichNorms"):
            w["postAttnNorm"] = t(n("post_attn_norm", D, jitter, gain), D)
            w["postFfnNorm"] = t(n("post_ffn_norm", D, jitter, gain), D)
        layers.append(w)
    emb = t(seeded_normal(seed, "embed", V * D, std), V, D)
    head = emb if c["tiedEmbeddings"] else t(seeded_normal(seed, "lm_head", V * D, std), V, D)
    return {"embed": emb, "layers": layers, "norm": t(seeded_normal(seed, "final_norm", D, jitter, gain), D), "head": head}


# ---- HF modeling math ----


def rms_norm(x, w, eps, gemma):
    # LlamaRMSNorm / Qwen3RMSNorm: w * x·rsqrt(mean(x²)+eps); Gemma*RMSNorm: (1 + w) * …
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return y * (1.0 + w) if gemma else y * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def inv_freq(c, T, local):
    dim = c.get("rotaryDim", c["headDim"])
    base = c["ropeLocalTheta"] if local else c["ropeTheta"]
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))  # float32, as HF
    inv = inv.double()
    s = None if local else c.get("ropeScaling")
    scale = 1.0
    if s and s["type"] == "linear":  # Gemma 3's global layers
        inv = inv / s["factor"]
    elif s and s["type"] == "longrope":  # Phi-3: _compute_longrope_parameters + dynamic update
        orig = s["originalMaxPositions"]
        ext = torch.tensor(s["longFactor"] if T > orig else s["shortFactor"], dtype=torch.float64)
        inv = inv / ext
        factor = c["maxPositions"] / orig
        scale = 1.0 if factor <= 1 else math.sqrt(1 + math.log(factor) / math.log(orig))
    return inv, scale


def rope(x, c, local):
    # x [T, heads, d]; partial rotary (Phi3): only the first rotaryDim dims rotate
    T = x.shape[0]
    inv, scale = inv_freq(c, T, local)
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = (emb.cos() * scale)[:, None, :], (emb.sin() * scale)[:, None, :]
    rot = c.get("rotaryDim", c["headDim"])
    xr, xp = x[..., :rot], x[..., rot:]
    return torch.cat((xr * cos + rotate_half(xr) * sin, xp), dim=-1)


def attention(c, w, h, layer):
    T = h.shape[0]
    d, H, KV = c["headDim"], c["numHeads"], c["numKvHeads"]
    gemma = c.get("normWeightOffset", 0) == 1
    eps = c["rmsNormEps"]
    q = (h @ w["wq"].T).view(T, H, d)
    k = (h @ w["wk"].T).view(T, KV, d)
    v = (h @ w["wv"].T).view(T, KV, d)
    if c.get("qkNorm"):  # Qwen3 / Gemma 3: q_norm, k_norm over head_dim before RoPE
        q = rms_norm(q, w["qNorm"], eps, gemma)
        k = rms_norm(k, w["kNorm"], eps, gemma)
    sliding = (c.get("layerTypes") or ["full_attention"] * c["numLayers"])[layer] == "sliding_attention"
    local = sliding and "ropeLocalTheta" in c
    q, k = rope(q, c, local), rope(k, c, local)
    k = k.repeat_interleave(H // KV, dim=1)  # repeat_kv
    v = v.repeat_interleave(H // KV, dim=1)
    scaling = c.get("queryPreAttnScalar", d) ** -0.5
    scores = torch.einsum("thd,uhd->htu", q, k) * scaling
    if "attnLogitSoftcap" in c:  # Gemma 2
        cap = c["attnLogitSoftcap"]
        scores = torch.tanh(scores / cap) * cap
    pos = torch.arange(T)
    allowed = pos[None, :] <= pos[:, None]  # causal: key u ≤ query t
    if sliding:  # sliding_window_overlay: kv_idx > q_idx − window
        allowed = allowed & (pos[None, :] > pos[:, None] - c["slidingWindow"])
    scores = scores.masked_fill(~allowed[None], float("-inf"))
    p = torch.softmax(scores, dim=-1)
    out = torch.einsum("htu,uhd->thd", p, v).reshape(T, H * d)
    return out @ w["wo"].T


def mlp(c, w, h):
    g = h @ w["wGate"].T
    u = h @ w["wUp"].T
    if c.get("activation") == "gelu_tanh":  # gelu_pytorch_tanh
        a = 0.5 * g * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (g + 0.044715 * torch.pow(g, 3.0))))
    else:
        a = g * torch.sigmoid(g)
    return (a * u) @ w["wDown"].T


def forward(c, W, tokens):
    gemma = c.get("normWeightOffset", 0) == 1
    eps = c["rmsNormEps"]
    x = W["embed"][torch.tensor(tokens)]
    if "embedScale" in c:  # Gemma: hidden_size**0.5 as a tensor of the activations' dtype (f32 here)
        x = x * float(np.float32(c["embedScale"]))
    for l, w in enumerate(W["layers"]):
        a = attention(c, w, rms_norm(x, w["attnNorm"], eps, gemma), l)
        if c.get("sandwichNorms"):  # Gemma 2/3: post_attention_layernorm on the branch
            a = rms_norm(a, w["postAttnNorm"], eps, gemma)
        x = x + a
        m = mlp(c, w, rms_norm(x, w["ffnNorm"], eps, gemma))
        if c.get("sandwichNorms"):  # post_feedforward_layernorm
            m = rms_norm(m, w["postFfnNorm"], eps, gemma)
        x = x + m
    logits = rms_norm(x, W["norm"], eps, gemma) @ W["head"].T
    if "finalLogitSoftcap" in c:
        cap = c["finalLogitSoftcap"]
        logits = torch.tanh(logits / cap) * cap
    return torch.log_softmax(logits, dim=-1)


BASE = {"vocabSize": 61, "hiddenSize": 32, "intermediateSize": 48, "numLayers": 3, "numHeads": 4, "numKvHeads": 2,
        "headDim": 8, "rmsNormEps": 1e-6, "ropeTheta": 10000, "tiedEmbeddings": False, "maxPositions": 64}
GEMMA = {"activation": "gelu_tanh", "normWeightOffset": 1, "embedScale": float(np.float32(math.sqrt(32))), "tiedEmbeddings": True}
CASES = [
    ("qwen3: q/k norms, GQA, tied", {**BASE, "qkNorm": True, "tiedEmbeddings": True, "ropeTheta": 1000000}),
    ("gemma: gelu_tanh, (1+w) norms, √D embeddings, MQA", {**BASE, **GEMMA, "numKvHeads": 1}),
    ("gemma2: sandwich norms, softcaps, sliding window 4 on even layers, query_pre_attn_scalar 24",
     {**BASE, **GEMMA, "numLayers": 4, "sandwichNorms": True, "attnLogitSoftcap": 0.5, "finalLogitSoftcap": 2.5,
      "queryPreAttnScalar": 24, "slidingWindow": 4,
      "layerTypes": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"]}),
    ("gemma3: q/k (1+w) norms, sandwich, window 5, local rope 10k, global 1M linear ×8",
     {**BASE, **GEMMA, "numLayers": 4, "qkNorm": True, "sandwichNorms": True, "queryPreAttnScalar": 8, "slidingWindow": 5,
      "ropeTheta": 1000000, "ropeLocalTheta": 10000, "ropeScaling": {"type": "linear", "factor": 8},
      "layerTypes": ["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"]}),
    ("phi3: partial rotary 6/8, longrope short factors",
     {**BASE, "numKvHeads": 4, "rotaryDim": 6, "maxPositions": 64,
      "ropeScaling": {"type": "longrope", "factor": 4, "originalMaxPositions": 16, "shortFactor": [1.0, 1.5, 3.0], "longFactor": [2.0, 5.0, 11.0]}}),
    ("phi3: longrope long factors past the original context",
     {**BASE, "numKvHeads": 4, "rotaryDim": 6, "maxPositions": 64,
      "ropeScaling": {"type": "longrope", "factor": 4, "originalMaxPositions": 8, "shortFactor": [1.0, 1.5, 3.0], "longFactor": [2.0, 5.0, 11.0]}}),
]


def tokens_for(c, n, seed):
    return [(i * 31 + seed * 17 + ((i * i) % 7)) % c["vocabSize"] for i in range(n)]


out = {"generator": "scripts/engine-goldens/hf-forward.py", "torch": torch.__version__, "cases": []}
for name, c in CASES:
    seed, std = 7, 0.2
    tokens = tokens_for(c, 14, 3)
    lp = forward(c, random_weights(c, seed, std), tokens)
    out["cases"].append({"name": name, "config": c, "seed": seed, "std": std, "tokens": tokens,
                         "logSoftmax": [[float(f"{v:.8g}") for v in row] for row in lp.tolist()]})
json.dump(out, sys.stdout, indent=None, separators=(",", ":"))
sys.stdout.write("\n")
