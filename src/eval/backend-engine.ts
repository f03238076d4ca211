// The eval Scorer over the TypeScript engine: an HF checkpoint (or a plan run virtually) scored with
// the HF tokenizer (@huggingface/tokenizers), following the contract in scorer.ts. Slow but exact;
// the reference that the llama.cpp backend is checked against. Not here: KV caching (each request is
// one forward over context + continuation) or GGUF tokenizers (use the llama.cpp backend).

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { forward, logSumExp, type EngineWeights, type ForwardOptions } from "../engine/index.js";
import { EvalError } from "../errors.js";
import type { WindowScorer } from "./perplexity.js";
import { cutAtStopStrings, splitTrailingSpaces, type GenerateRequest, type GenerateResult, type LoglikelihoodRequest, type LoglikelihoodResult, type Scorer, type ScorerDescription } from "./scorer.js";

export interface HfTokenizer {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  bos: number | undefined;
  eos: number | undefined;
}

/** Loads tokenizer.json (+ tokenizer_config.json) from an HF model directory. */
export async function loadHfTokenizer(dir: string): Promise<HfTokenizer> {
  const readJson = async (name: string, required: boolean): Promise<Record<string, unknown>> => {
    const path = join(dir, name);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch {
      if (!required) return {};
      throw new EvalError("EVAL_NO_TOKENIZER", `${path} not found: the engine backend needs the HF tokenizer`, { hint: "use an HF model directory with tokenizer.json, or --backend llamacpp for a GGUF" });
    }
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new EvalError("EVAL_BAD_TOKENIZER", `${path} is not valid JSON: ${(e as Error).message}`, { hint: "re-download the model's tokenizer files" });
    }
  };
  const json = await readJson("tokenizer.json", true);
  const config = await readJson("tokenizer_config.json", false);
  const tok = new Tokenizer(json, config);
  const special = (key: string): number | undefined => {
    const v = config[key];
    const text = typeof v === "string" ? v : v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string" ? (v as { content: string }).content : undefined;
    return text === undefined ? undefined : tok.token_to_id(text);
  };
  return {
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids.map(Number),
    decode: (ids) => tok.decode([...ids], { skip_special_tokens: true }),
    bos: special("bos_token"),
    eos: special("eos_token"),
  };
}

export interface EngineScorerOptions {
  /** prepend BOS to every request (v1: off) */
  bos?: boolean;
  /** window in tokens; default min(maxPositions, 2048) */
  contextLength?: number;
  /** shown in results */
  model: string;
  dtype?: string;
}

export class EngineScorer implements Scorer, WindowScorer {
  readonly name = "engine";
  readonly maxWindow: number;
  constructor(private readonly weights: EngineWeights, private readonly tokenizer: HfTokenizer, private readonly opts: EngineScorerOptions) {
    this.maxWindow = Math.min(weights.config.maxPositions, opts.contextLength ?? 2048);
  }

  describe(): ScorerDescription {
    return { model: this.opts.model, backend: "engine", bos: this.opts.bos ?? false, contextLength: this.maxWindow, ...(this.opts.dtype ? { dtype: this.opts.dtype } : {}) };
  }

  tokenize(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  /** The token that stands before the first scored token when context and BOS give none (lm-eval: EOT). */
  private prefixTokens(ctx: number[]): number[] {
    const bos = this.opts.bos ? this.tokenizer.bos : undefined;
    const out = bos === undefined ? ctx : [bos, ...ctx];
    if (out.length > 0) return out;
    const fallback = this.tokenizer.bos ?? this.tokenizer.eos;
    if (fallback === undefined) throw new EvalError("EVAL_EMPTY_CONTEXT", "an empty context needs a BOS or EOS token to condition on, and the tokenizer has neither", { hint: "give the task a non-empty context" });
    return [fallback];
  }

  async loglikelihood(requests: readonly LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    const out: LoglikelihoodResult[] = [];
    for (const r of requests) {
      const { context, continuation } = splitTrailingSpaces(r.context, r.continuation);
      const ctx = this.tokenizer.encode(context);
      const cont = this.tokenizer.encode(context + continuation).slice(ctx.length);
      const prefix = this.prefixTokens(ctx);
      let truncated = false;
      // Left-truncate: the forward sees at most maxWindow tokens.
      let all = [...prefix, ...cont];
      if (all.length > this.maxWindow) {
        all = all.slice(all.length - this.maxWindow);
        truncated = true;
      }
      const scored = Math.min(cont.length, all.length - 1);
      if (scored === 0) {
        out.push({ logprob: 0, greedy: true, ...(truncated ? { truncated } : {}) });
        continue;
      }
      const { logprobs, greedy } = await this.scoreTokens(all, all.length - scored);
      out.push({ logprob: logprobs.reduce((a, b) => a + b, 0), greedy, ...(truncated ? { truncated } : {}) });
    }
    return out;
  }

  private scoreTokens(tokens: readonly number[], from: number): Promise<{ logprobs: number[]; greedy: boolean }> {
    return scoreTokensOnEngine(this.weights, tokens, from);
  }

  async scoreWindow(window: readonly number[], from: number): Promise<number[]> {
    return (await this.scoreTokens(window, from)).logprobs;
  }

  /** Greedy decoding by repeated full forwards (no KV cache): fine for tiny models, slow for big ones. */
  async generate(requests: readonly GenerateRequest[]): Promise<GenerateResult[]> {
    const out: GenerateResult[] = [];
    for (const r of requests) {
      let tokens = this.prefixTokens(this.tokenizer.encode(r.context));
      let truncated = false;
      const generated: number[] = [];
      let text = "";
      for (let step = 0; step < r.maxTokens; step++) {
        if (tokens.length > this.maxWindow) {
          tokens = tokens.slice(tokens.length - this.maxWindow);
          truncated = true;
        }
        const { logits } = await forward(this.weights, tokens, { logitsFor: "last" });
        const next = argmax(logits);
        if (next === this.tokenizer.eos) break;
        generated.push(next);
        tokens = [...tokens, next];
        text = this.tokenizer.decode(generated);
        if (cutAtStopStrings(text, r.until).length < text.length) break;
      }
      out.push({ text: cutAtStopStrings(text, r.until), ...(truncated ? { truncated } : {}) });
    }
    return out;
  }
}

/**
 * log p(tokens[t] | …) for t ≥ from from one forward pass, and whether each was the argmax: the
 * engine's scoring, shared with layer analysis (which adds forward options such as a boundary
 * hook) so its perplexities are the very numbers `dusk ppl --backend engine` prints.
 */
export async function scoreTokensOnEngine(weights: EngineWeights, tokens: readonly number[], from: number, opts: ForwardOptions = {}): Promise<{ logprobs: number[]; greedy: boolean }> {
  const V = weights.config.vocabSize;
  const positions: number[] = [];
  for (let p = from - 1; p < tokens.length - 1; p++) positions.push(p);
  const { logits } = await forward(weights, tokens, { ...opts, logitsFor: positions });
  const logprobs: number[] = [];
  let greedy = true;
  positions.forEach((p, r) => {
    const row = logits.subarray(r * V, (r + 1) * V);
    const target = tokens[p + 1]!;
    logprobs.push(row[target]! - logSumExp(row));
    if (argmax(row) !== target) greedy = false;
  });
  return { logprobs, greedy };
}

/** First index of the largest value (ties → first, like torch.argmax on CPU). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}
