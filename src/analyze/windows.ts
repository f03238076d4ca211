// Text windows and perplexity sums shared by analysis and search: the windows are `dusk ppl`'s
// sliding windows (src/eval/perplexity.ts), scored with the engine backend's own scoring, and the
// sums run in perplexity()'s order, so every perplexity here is the number `dusk ppl` prints.

import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { AnalyzeError, FormatError } from "../errors.js";
import { slidingWindows } from "../eval/perplexity.js";

export interface TextWindow {
  start: number;
  end: number;
  /** first scored position within the window (perplexity's `from`) */
  from: number;
  /** first position counted in the maps: 0 for the first window, else `from` (each token once) */
  countFrom: number;
}

/** What every result says of its input: the model and text, how it was tokenized and windowed. */
export interface TextRun {
  model: string;
  text: string;
  /** "tokenizer.json", "tokenizer.model" or llama.cpp's GGUF vocabulary */
  tokenizer: string;
  bos: boolean;
  /** tokens of the text */
  tokens: number;
  windows: number;
  ctx: number;
  stride: number;
}

export interface WindowOptions {
  /** window length in tokens (default 512, as `dusk ppl`) */
  ctx?: number;
  /** tokens a window advances (default ctx/2, as `dusk ppl`) */
  stride?: number;
}

export function textWindows(tokens: number, maxPositions: number, o: WindowOptions): { windows: TextWindow[]; ctx: number; stride: number } {
  const ctx = o.ctx ?? 512;
  const stride = o.stride ?? Math.max(1, Math.floor(ctx / 2));
  if (!Number.isSafeInteger(ctx) || ctx < 2) throw new AnalyzeError("ANALYZE_CTX", `--ctx must be an integer ≥ 2, got ${ctx}`, { hint: "e.g. --ctx 512" });
  if (ctx > maxPositions) throw new AnalyzeError("ANALYZE_CTX", `--ctx ${ctx} exceeds the model's window of ${maxPositions} tokens`, { hint: `use --ctx ${maxPositions} or less` });
  if (!Number.isSafeInteger(stride) || stride < 1 || stride > ctx) {
    throw new AnalyzeError("ANALYZE_STRIDE", `--stride must be an integer in [1, ctx=${ctx}], got ${stride}`, { hint: "a stride of ctx/2 gives every scored token at least ctx/2 tokens of context" });
  }
  const windows = slidingWindows(tokens, ctx, stride).map((w, i) => ({ ...w, countFrom: i === 0 ? 0 : w.from }));
  return { windows, ctx, stride };
}

/** Negative log-likelihood summed as perplexity() sums it (same order, so the same floats). */
export class NllSum {
  private sum = 0;
  private count = 0;
  add(logprobs: ArrayLike<number>): void {
    for (let i = 0; i < logprobs.length; i++) this.sum -= logprobs[i]!;
    this.count += logprobs.length;
  }
  result(): { ppl: number; nll: number; scored: number } {
    const nll = this.sum / this.count;
    return { ppl: Math.exp(nll), nll, scored: this.count };
  }
}

/** Types the engine widens; anything else is refused before any work starts. */
const ENGINE_TYPES = new Set(["F32", "F16", "BF16", "Q8_0", "Q4_0"]);

export function checkEngineTypes(c: Checkpoint): void {
  for (const [name, t] of c.tensors) {
    if (ENGINE_TYPES.has(t.type.name)) continue;
    throw new FormatError("ANALYZE_TENSOR_TYPE", "tensor type the engine cannot read", {
      file: c.path,
      field: name,
      expected: "F32, F16, BF16, Q8_0 or Q4_0",
      actual: t.type.name,
      hint: c.format === "gguf"
        ? "analyse the HF checkpoint it came from, or convert that to a type the engine reads: dusk convert HF_DIR -o model.gguf --type q8_0"
        : "save the checkpoint in float32, float16 or bfloat16",
    });
  }
}
