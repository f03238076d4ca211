// Scoring with llama.cpp (node-llama-cpp): the eval Scorer (log-likelihoods of continuations,
// greedy generation) and the token-window scorer perplexity needs, plus per-token prompt logprobs
// for `dusk serve`'s echo. Loglikelihood calls spread over `sequences` KV-cache sequences of one
// context (score-groups.ts); everything else uses the first sequence.
// Not here: chat templates or HTTP (server.ts), task prompts (src/eval), KV bookkeeping (score-sequence.ts).

import type { LlamaContext, LlamaModel, Token } from "node-llama-cpp";
import { describeDevice, gpuLayersFor, llamaInstance, type GpuOptions } from "./llama-instance.js";
import { EvalError } from "../errors.js";
import type { WindowScorer } from "../eval/perplexity.js";
import { cutAtStopStrings, splitTrailingSpaces, type GenerateRequest, type GenerateResult, type LoglikelihoodRequest, type LoglikelihoodResult, type Scorer, type ScorerDescription } from "../eval/scorer.js";
import { serializeSampling } from "./sampling-lock.js";
import { groupBySharedPrefix, scoreGroups, type PreparedRequest } from "./score-groups.js";
import { ScoringSequence, type PositionScore } from "./score-sequence.js";

/**
 * Default number of sequences. Measured with bench/eval.mjs on the shared 2-core CPU (80M f16 model,
 * 32 ARC-shaped requests of ~800 tokens): 1 sequence 134 scored tokens/s, 4 sequences 120 — on CPU
 * the prefix evaluation is compute-bound and merging sequences into one batch buys nothing, while
 * each sequence costs a full context of KV cache. Raise it where batching pays (GPU).
 */
export const DEFAULT_SCORING_SEQUENCES = 1;
/** Each sequence holds its own `contextSize` KV cells, so memory grows linearly with this. */
const MAX_SCORING_SEQUENCES = 64;

export interface LlamaScorerOptions extends GpuOptions {
  /** prepend BOS to every request (v1: off) */
  bos?: boolean;
  /** context window in tokens; default min(train context, 2048) */
  contextSize?: number;
  /** llama.cpp batch size; default contextSize */
  batchSize?: number;
  threads?: number;
  /**
   * KV-cache sequences that score loglikelihood requests concurrently (one context of
   * `contextSize` tokens per sequence); 1 scores them one after another. Default
   * DEFAULT_SCORING_SEQUENCES.
   */
  sequences?: number;
}

export class LlamaScorer implements Scorer, WindowScorer {
  readonly name = "llamacpp";
  /** the first also serves prompt scores, perplexity windows and generation */
  private readonly sequences: ScoringSequence[];

  private constructor(
    readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly modelPath: string,
    private readonly bos: boolean,
    /** where it runs, for the user (see describeDevice) */
    readonly device: string,
  ) {
    this.sequences = Array.from({ length: context.totalSequences }, () => new ScoringSequence(context.getSequence()));
  }

  private get main(): ScoringSequence {
    return this.sequences[0]!;
  }

  static async open(modelPath: string, opts: LlamaScorerOptions = {}): Promise<LlamaScorer> {
    const sequences = opts.sequences ?? DEFAULT_SCORING_SEQUENCES;
    if (!Number.isSafeInteger(sequences) || sequences < 1 || sequences > MAX_SCORING_SEQUENCES) {
      throw new EvalError("EVAL_BAD_SEQUENCES", `scoring sequences must be an integer from 1 to ${MAX_SCORING_SEQUENCES}, got ${sequences}`, { hint: "each sequence holds a full context of KV cache; 1 to 8 is the useful range" });
    }
    // The process-wide binding the rest of the runtime uses: loading a second one costs seconds.
    const llama = await llamaInstance(opts.gpu ?? "auto");
    const gpuLayers = gpuLayersFor(llama, opts);
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath, gpuLayers });
    } catch (e) {
      throw new EvalError("EVAL_MODEL_LOAD", `llama.cpp could not load ${modelPath}: ${(e as Error).message}`, { hint: "check the file with `dusk inspect`; an HF directory must be converted with `dusk convert` first" });
    }
    const size = Math.min(opts.contextSize ?? 2048, model.trainContextSize);
    // node-llama-cpp gives every sequence its own `contextSize` cells (it allocates size × sequences).
    // No flash attention: llama.cpp's CPU flash attention switches to a tiled kernel for 64+ tokens of
    // one sequence in a batch, which rounds differently (measured ~1e-4 nats per token on a tiny f32
    // model), so a score would depend on the cache's history and on the other sequences sharing the
    // batch. Without it, scores are the same however the tokens are batched (test/eval-batching).
    const context = await model.createContext({ contextSize: size, batchSize: opts.batchSize ?? size, sequences, flashAttention: false, ...(opts.threads ? { threads: opts.threads } : {}) });
    serializeSampling(context); // sequences of one batch must not sample concurrently (sampling-lock.ts)
    return new LlamaScorer(model, context, modelPath, opts.bos ?? false, await describeDevice(llama, model, opts.gpu));
  }

  get maxWindow(): number {
    return this.context.contextSize;
  }

  describe(): ScorerDescription {
    return { model: this.modelPath, backend: "llamacpp", bos: this.bos, contextLength: this.context.contextSize, sequences: this.sequences.length };
  }

  tokenize(text: string): number[] {
    return this.model.tokenize(text) as number[];
  }

  async close(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }

  private prefixFor(ctx: Token[], bos: boolean): Token[] {
    const b = this.model.tokens.bos;
    const out = bos && b !== null ? [b, ...ctx] : ctx;
    if (out.length > 0) return out;
    const fallback = b ?? this.model.tokens.eos;
    if (fallback === null) throw new EvalError("EVAL_EMPTY_CONTEXT", "an empty context needs a BOS or EOS token to condition on, and the model has neither", { hint: "give the task a non-empty context" });
    return [fallback];
  }

  async loglikelihood(requests: readonly LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    const out = new Array<LoglikelihoodResult>(requests.length);
    const prepared: PreparedRequest[] = [];
    const truncated = new Set<number>();
    const N = this.context.contextSize;
    requests.forEach((r, index) => {
      const { context, continuation } = splitTrailingSpaces(r.context, r.continuation);
      const ctx = this.model.tokenize(context);
      const cont = this.model.tokenize(context + continuation).slice(ctx.length);
      if (cont.length === 0) {
        out[index] = { logprob: 0, greedy: true };
        return;
      }
      // Left-truncate so that at most N tokens are in play (the same cut as the engine backend).
      let all = [...this.prefixFor(ctx, this.bos), ...cont];
      if (all.length > N) {
        all = all.slice(all.length - N);
        truncated.add(index);
      }
      const scored = Math.min(cont.length, all.length - 1);
      prepared.push({ index, prefix: all.slice(0, all.length - scored), tail: all.slice(all.length - scored) });
    });
    const scores = await scoreGroups(groupBySharedPrefix(prepared), this.sequences, requests.length);
    for (const { index, tail } of prepared) {
      const s = scores[index]!;
      out[index] = { logprob: s.reduce((a, p) => a + p.logprob, 0), greedy: s.every((p, i) => p.top === tail[i]), ...(truncated.has(index) ? { truncated: true } : {}) };
    }
    return out;
  }

  /** Per-token scores of a whole prompt (for echo): entry i scores tokens[i + 1]. */
  async promptScores(tokens: Token[]): Promise<PositionScore[]> {
    if (tokens.length < 2) return [];
    if (tokens.length - 1 > this.context.contextSize) {
      throw new EvalError("EVAL_PROMPT_TOO_LONG", `the prompt has ${tokens.length} tokens, the context holds ${this.context.contextSize}`, { hint: "shorten the prompt or start the server with a larger --ctx" });
    }
    return this.main.scoreAfter(tokens.slice(0, 1), tokens.slice(1));
  }

  async scoreWindow(window: readonly number[], from: number): Promise<number[]> {
    const scores = await this.main.scoreAfter(window.slice(0, from) as Token[], window.slice(from) as Token[]);
    return scores.map((s) => s.logprob);
  }

  /** Greedy (or sampled, for the server) generation after `prompt` tokens. */
  async complete(prompt: Token[], o: { maxTokens: number; until: readonly string[]; temperature?: number; topP?: number; seed?: number; onText?: (delta: string) => void }): Promise<{ text: string; tokens: number; finish: "stop" | "length"; truncated: boolean }> {
    const N = this.context.contextSize;
    let truncated = false;
    if (prompt.length >= N) {
      prompt = prompt.slice(prompt.length - N + 1);
      truncated = true;
    }
    await this.main.reset();
    const generated: Token[] = [];
    let text = "";
    let emitted = 0;
    let finish: "stop" | "length" = "length";
    const eos = this.model.tokens.eos;
    const room = Math.min(o.maxTokens, N - prompt.length);
    if (room > 0) {
      const it = this.main.sequence.evaluate(prompt, { temperature: o.temperature ?? 0, ...(o.topP !== undefined ? { topP: o.topP } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}) });
      for await (const t of it) {
        if (t === eos || this.model.isEogToken(t)) {
          finish = "stop";
          break;
        }
        generated.push(t);
        text = this.model.detokenize(generated);
        const cut = cutAtStopStrings(text, o.until);
        if (cut.length < text.length) {
          text = cut;
          finish = "stop";
          break;
        }
        // Hold back a tail that could still grow into a stop string.
        const hold = Math.max(0, ...o.until.map((s) => s.length - 1));
        const safe = text.length - hold;
        if (o.onText && safe > emitted) {
          o.onText(text.slice(emitted, safe));
          emitted = safe;
        }
        if (generated.length >= room) break;
      }
    }
    if (o.onText && text.length > emitted) o.onText(text.slice(emitted));
    await this.main.reset();
    return { text, tokens: generated.length, finish, truncated };
  }

  async generate(requests: readonly GenerateRequest[]): Promise<GenerateResult[]> {
    const out: GenerateResult[] = [];
    for (const r of requests) {
      const prompt = this.prefixFor(this.model.tokenize(r.context), this.bos);
      const res = await this.complete(prompt, { maxTokens: r.maxTokens, until: r.until, temperature: 0 });
      out.push({ text: res.text, ...(res.truncated ? { truncated: true } : {}) });
    }
    return out;
  }
}
