// Bench for training (src/train): a seeded ~4M-parameter, 16-layer Llama-shaped model (the size of
// dusk's embedded default model) trained for a few steps on 1 and on 2 worker threads, each run in
// a child process so its peak RSS is its own. Prints tokens/s, model FLOPs utilisation against the
// single-core matmul peak measured at the model's shapes in this same run, the 2-core speed-up, and
// peak memory against the bytes of weights, gradients and Adam moments.
// Run after `tsc`: node bench/train.mjs [layers=16] [hidden=128] [seqLen=128] [steps=6] [batch=16]

import { runChild, DIST } from "./lib.mjs";

const [layers, hidden, seqLen, steps, batch] = [16, 128, 128, 6, 16].map((d, i) => Number(process.argv[i + (process.argv[2] === "--child" ? 4 : 2)] ?? d));
const config = {
  vocabSize: 2000, hiddenSize: hidden, intermediateSize: 3 * hidden, numLayers: layers, numHeads: Math.max(1, hidden / 32), numKvHeads: Math.max(1, hidden / 32),
  headDim: 32, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false, maxPositions: Math.max(2048, seqLen),
};

if (process.argv[2] === "--child") {
  // one training run: `--child <workers> <microBatch> layers hidden seqLen steps batch`
  const { LLAMA } = await import(`${DIST}arch/index.js`);
  const t = await import(`${DIST}train/index.js`);
  const workers = Number(process.argv[3]);
  const layout = t.paramLayout(config);
  const params = t.allocF32(layout.total, true);
  const names = t.hfNames(LLAMA, layout);
  t.initWeights(layout, params, names, 1, 0.02);
  const f32 = (await import(`${DIST}formats/tensor-types.js`)).tensorType("F32");
  const model = { config, arch: LLAMA, layout, params, tensors: [...names].map(([name, spec]) => ({ name, spec, type: f32 })), hfConfig: {}, sideFiles: new Map(), base: "bench" };
  // a token stream with some structure (so losses move), long enough for every step
  const n = (steps + 2) * batch * seqLen + seqLen * 8;
  const stream = new Int32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) stream[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % 64 === 0 ? (stream[i - 1] ?? 0) : (i * 7 + (s >>> 16)) % config.vocabSize;
  const data = t.packData(stream, seqLen, { holdout: 0.02, what: "bench stream" });
  const settings = t.resolveSettings(config, { steps }, { seqLen, batch, evalEvery: 0, evalSequences: 2, lr: 1e-3 });
  const run = t.runTraining({ model, selection: { layers: Array(layers).fill(true), embed: true, head: true }, data, settings, kind: "trained", texts: [], tokenizer: "none", workers });
  // wall and CPU time (all threads of this process) at each step: timed over steps 2..N, since the
  // first step also pays XNNPACK's first-use setup
  const marks = [];
  const result = await t.runToEnd(run, (e) => {
    if (e.type === "step") {
      const c = process.cpuUsage();
      marks.push({ wall: performance.now() / 1000, cpu: (c.user + c.system) / 1e6, loss: e.entry.loss });
    }
  });
  const a = marks[0];
  const b = marks[marks.length - 1];
  const tokens = (marks.length - 1) * batch * seqLen;
  console.log(JSON.stringify({ workers, microBatch: settings.microBatch, tokensPerSecond: tokens / (b.wall - a.wall), tokensPerCpuSecond: tokens / (b.cpu - a.cpu), params: result.trainableParams, loss0: a.loss, loss1: b.loss }));
  process.exit(0);
}

const { measureMatmulPeak } = await import(`${DIST}engine/index.js`);
const D = hidden;
const F = 3 * hidden;
const V = config.vocabSize;
const N = 8 * seqLen; // rows of one micro-batch, as the training path multiplies them
const shapes = [
  { m: N, k: D, n: 3 * D, what: "qkv    [N,D]·[D,3D]" },
  { m: N, k: D, n: 2 * F, what: "gate|up [N,D]·[D,2F]" },
  { m: N, k: F, n: D, what: "down   [N,F]·[F,D]" },
  { m: N, k: D, n: V, what: "head   [N,D]·[D,V]" },
  // a large product, so the peak is the kernel's best and not just its best at this model's shapes
  { m: 2048, k: 768, n: 2048, what: "large  [2048,768]·[768,2048]" },
];
const peaks = new Map();
async function measurePeaks() {
  for (const s of shapes) {
    const p = await measureMatmulPeak({ ...s, repeats: 5 });
    peaks.set(s.what, Math.max(peaks.get(s.what) ?? 0, p.gflops));
  }
}
const child = (workers) => runChild(new URL(import.meta.url).pathname, ["--child", String(workers), String(layers), String(hidden), String(seqLen), String(steps), String(batch)]);

// the machine is shared: peak and training are measured interleaved, each keeping its best
await measurePeaks();
const one = child(1);
await measurePeaks();
const two = child(2);
await measurePeaks();
const peak = Math.max(...peaks.values());

const P = one.params;
const H = config.numHeads;
// useful FLOPs per token: 6 per trained weight (forward 2, backward 4) plus causal attention
// (QKᵀ and PV over the (S+1)/2 visible keys on average, per head: 2·2·d·(S+1)/2, times 3 for fwd+bwd)
const attnPerToken = layers * 3 * 2 * 2 * H * config.headDim * ((seqLen + 1) / 2);
const flopsPerToken = 6 * P + attnPerToken;
const mfu = (r, cores) => (flopsPerToken * r.tokensPerSecond) / (peak * 1e9 * cores);

for (const [what, g] of peaks) console.log(`kernel tfjs-wasm-xnnpack ${what}: best ${g.toFixed(1)} GFLOP/s`);
console.log(`model: ${(P / 1e6).toFixed(2)}M parameters, ${layers} layers, hidden ${hidden}, seq ${seqLen}, batch ${batch} (micro-batches of ${one.microBatch}); ${(flopsPerToken / 1e6).toFixed(1)} MFLOP per trained token (attention ${(attnPerToken / 1e6).toFixed(1)})`);
// per CPU-second too: on a shared machine the wall clock also counts time the threads waited for a core
const mfuCpu = (r) => (flopsPerToken * r.tokensPerCpuSecond) / (peak * 1e9);
console.log(`1 worker : ${one.tokensPerSecond.toFixed(0)} tokens/s, MFU ${mfu(one, 1).toFixed(2)} (goal ≥ 0.4); per CPU-second ${one.tokensPerCpuSecond.toFixed(0)} tokens, MFU ${mfuCpu(one).toFixed(2)}; peak RSS ${one.peakRssMB.toFixed(0)} MB`);
console.log(`2 workers: ${two.tokensPerSecond.toFixed(0)} tokens/s, MFU ${mfu(two, 2).toFixed(2)} (goal ≥ 0.4); per CPU-second ${two.tokensPerCpuSecond.toFixed(0)} tokens, MFU ${mfuCpu(two).toFixed(2)}; peak RSS ${two.peakRssMB.toFixed(0)} MB`);
console.log(`2 cores vs 1: ${(two.tokensPerSecond / one.tokensPerSecond).toFixed(2)}× (goal ≥ 1.7); CPU-seconds per token, 2 vs 1: ${(one.tokensPerCpuSecond / two.tokensPerCpuSecond).toFixed(2)}× (1.0 = no parallel overhead)`);
const load = (await import("node:os")).loadavg()[0];
if (load > 1.5) console.log(`note: load average ${load.toFixed(1)} on ${(await import("node:os")).availableParallelism()} cores while measuring; wall-clock figures are low by the share other processes took`);
const state = (P * 4 * 4) / 1e6;
console.log(`weights + gradients + Adam moments (f32): ${state.toFixed(0)} MB; peak RSS / that: ${(one.peakRssMB / state).toFixed(1)}× (1 worker), ${(two.peakRssMB / state).toFixed(1)}× (2 workers)`);
console.log(`loss over the timed steps: ${one.loss0.toFixed(3)} → ${one.loss1.toFixed(3)} (1 worker), ${two.loss0.toFixed(3)} → ${two.loss1.toFixed(3)} (2 workers; same bits expected)`);
