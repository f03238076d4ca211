import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { inlineExec } from "./blocks.js";
import { rounder, ulpDistance, type WorkType } from "./float.js";
import type { MergeInputs } from "./kernel.js";
import { MERGE_KERNELS } from "./methods/index.js";
import { acosF32, sinF32 } from "./numpy-f32.js";
import { submatrix } from "./rectify.js";
import { mergeMethodInfo } from "../recipe/merge-methods.js";

// Goldens from mergekit's own merge functions (scripts/merge-goldens, commit in the fixture).
interface GoldenCase {
  name: string;
  method: string;
  dtype: WorkType;
  embed: boolean;
  base?: number;
  params: Record<string, number | boolean>;
  inputs: { shape: number[]; params: Record<string, number | boolean>; data: string }[];
  shape: number[];
  output: string;
}
const golden = JSON.parse(readFileSync(new URL("../../test/fixtures/merge/methods.json", import.meta.url), "utf8")) as { mergekit: string; cases: GoldenCase[] };

function f32(b64: string): Float32Array {
  const bytes = Buffer.from(b64, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

async function runGolden(c: GoldenCase): Promise<{ out: Float32Array; want: Float32Array }> {
  const warnings: string[] = [];
  const m: MergeInputs = {
    tensors: c.inputs.map((i) => submatrix(f32(i.data), i.shape, c.shape)),
    shape: c.shape,
    base: c.base,
    params: withDefaults(c.method, c.params, "global"),
    perInput: c.inputs.map((i, k) => (k === c.base ? i.params : withDefaults(c.method, i.params, "tensor"))),
    dtype: c.dtype,
    key: "model.layers.0.mlp.up_proj.weight",
    seed: 0,
    warn: (w) => warnings.push(w),
  };
  const r = rounder(c.dtype);
  for (const t of m.tensors) for (let i = 0; i < t.length; i++) t[i] = r(t[i]!);
  return { out: await MERGE_KERNELS[c.method]!(m, inlineExec), want: f32(c.output) };
}

/** One ulp of the working type at the magnitude of x. */
function ulpOf(x: number, type: WorkType): number {
  const bits = type === "F32" ? 23 : type === "BF16" ? 7 : 10;
  return 2 ** (Math.floor(Math.log2(x)) - bits);
}

/** The planner's defaults (mergekit ConfigParameterDef.default_value), filled as the planner fills them. */
function withDefaults(method: string, given: Record<string, number | boolean>, level: "global" | "tensor"): Record<string, number | boolean> {
  const out = { ...given };
  for (const p of mergeMethodInfo(method)![level]) if (out[p.name] === undefined && p.default !== undefined) out[p.name] = p.default;
  return out;
}

/**
 * Every case bit for bit: element-wise math rounded op by op as torch does, sums over models in
 * order, whole-tensor reductions in torch's own float32 order (torch-f32.ts), acos/sin/cos as
 * SLEEF computes them (sleef-f32.ts), slerp's numpy float32 path (numpy-f32.ts). The one
 * exception: where equal magnitudes meet a top-k cut, which of them torch's unstable sort keeps
 * is its own (dusk keeps the lower indices).
 */
/** Elements where a model's |δ| equals its magnitude cut: which one torch's unstable sort keeps is unspecified. */
function tiedAtCut(c: GoldenCase, i: number): boolean {
  const r = rounder(c.dtype);
  const xs = c.inputs.map((x) => f32(x.data));
  const base = xs[c.base!]!;
  return xs.some((x, k) => {
    if (k === c.base) return false;
    const density = Number(c.inputs[k]!.params.density ?? 1);
    const mags = Array.from(x, (v, j) => Math.abs(r(v - base[j]!))).sort((a, b) => b - a);
    const cut = mags[Math.trunc(density * mags.length) - 1];
    return cut !== undefined && Math.abs(r(x[i]! - base[i]!)) === cut;
  });
}

describe("numpy's float32 arccos and sin (slerp's)", () => {
  const g = (golden as unknown as { numpy_f32: Record<string, string> }).numpy_f32;
  test("np.sin: every value bit-exact", () => {
    const [x, y] = [f32(g.sin_in!), f32(g.sin_out!)];
    expect(Array.from(x, (v, i) => (sinF32(v) === y[i] ? 0 : 1)).reduce((a: number, b) => a + b, 0)).toBe(0);
  });
  test("np.arccos: bit-exact below |x| = 0.5; above, vrsqrt14ps's estimate is not reproduced (≤ 2 ulps)", () => {
    const [x, y] = [f32(g.acos_in!), f32(g.acos_out!)];
    let small = 0;
    let large = 0;
    x.forEach((v, i) => {
      const d = ulpDistance(acosF32(v), y[i]!);
      if (Math.abs(v) < 0.5) small += d;
      else expect(d).toBeLessThanOrEqual(2);
      if (Math.abs(v) >= 0.5 && d > 0) large++;
    });
    console.log(`arccos: ${large} of ${x.filter((v) => Math.abs(v) >= 0.5).length} values with |x| ≥ 0.5 off by 1–2 ulps`);
    expect(small).toBe(0);
  });
});

describe(`merge methods against mergekit ${golden.mergekit.slice(0, 7)}`, () => {
  for (const c of golden.cases) {
    test(`${c.method}: ${c.name} (${c.dtype})`, async () => {
      const { out, want } = await runGolden(c);
      expect(out.length).toBe(want.length);
      let worst = 0;
      let exact = 0;
      for (let i = 0; i < want.length; i++) {
        const d = ulpDistance(out[i]!, want[i]!, c.dtype);
        worst = Math.max(worst, d);
        if (d === 0) exact++;
      }
      let scale = 0;
      let err = 0;
      for (let i = 0; i < want.length; i++) {
        scale = Math.max(scale, Math.abs(want[i]!));
        err = Math.max(err, Math.abs(out[i]! - want[i]!));
      }
      const scaled = err / ulpOf(scale, c.dtype);
      console.log(`${c.method} | ${c.name} | ${c.dtype} | max ulp ${worst} | exact ${exact}/${want.length} | scaled ${scaled.toFixed(3)}`);
      for (let i = 0; i < want.length; i++) if (ulpDistance(out[i]!, want[i]!, c.dtype) !== 0) expect(tiedAtCut(c, i), `element ${i}: ${out[i]} vs ${want[i]}`).toBe(true);
    });
  }
});
