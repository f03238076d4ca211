// Scoring with llama.cpp (node-llama-cpp): the eval Scorer (log-likelihoods of continuations,
// greedy generation) and the token-window scorer perplexity needs, plus per-token prompt logprobs
// for `dusk serve`'s echo. Probabilities are asked for only at scored positions; a shared prefix
// stays in the KV cache and each continuation is evaluated after it, then erased.
// Not here: chat templates or HTTP (server.ts), task prompts (src/eval).

import { getLlama, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { EvalError } from "../errors.js";
import type { WindowScorer } from "../eval/perplexity.js";
import { cutAtStopStrings, splitTrailingSpaces, type GenerateRequest, type GenerateResult, type LoglikelihoodRequest, type LoglikelihoodResult, type Scorer, type ScorerDescription } from "../eval/scorer.js";

export interface LlamaScorerOptions {
  /** prepend BOS to every request (v1: off) */
  bos?: boolean;
  /** context window in tokens; default min(train context, 2048) */
  contextSize?: number;
  /** llama.cpp batch size; default contextSize */
  batchSize?: number;
  threads?: number;
}

/** One token's score at a position: log p of the actual token and the argmax token. */
interface PositionScore {
  logprob: number;
  top: number;
  topLogprob: number;
}

/** The smallest positive float32: a probability llama.cpp rounded to 0 is at most this. */
const MIN_PROB = 1.4e-45;

let sharedLlama: Promise<Llama> | undefined;
/** One CPU llama.cpp instance per process (loading the backend twice costs seconds). */
export function cpuLlama(): Promise<Llama> {
  return (sharedLlama ??= getLlama({ gpu: false, logLevel: "error" as never }));
}

export class LlamaScorer implements Scorer, WindowScorer {
  readonly name = "llamacpp";
  /** tokens now held by the sequence's KV cache, from position 0 */
  private state: Token[] = [];
  /** the distribution after the last token of `state` when it was computed for it */
  private lastScore: Map<Token, number> | undefined;

  private constructor(
    readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly sequence: LlamaContextSequence,
    private readonly modelPath: string,
    private readonly bos: boolean,
  ) {}

  static async open(modelPath: string, opts: LlamaScorerOptions = {}): Promise<LlamaScorer> {
    const llama = await cpuLlama();
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath });
    } catch (e) {
      throw new EvalError("EVAL_MODEL_LOAD", `llama.cpp could not load ${modelPath}: ${(e as Error).message}`, { hint: "check the file with `dusk inspect`; an HF directory must be converted with `dusk convert` first" });
    }
    const size = Math.min(opts.contextSize ?? 2048, model.trainContextSize);
    const context = await model.createContext({ contextSize: size, batchSize: opts.batchSize ?? size, sequences: 1, ...(opts.threads ? { threads: opts.threads } : {}) });
    return new LlamaScorer(model, context, context.getSequence(), modelPath, opts.bos ?? false);
  }

  get maxWindow(): number {
    return this.context.contextSize;
  }

  describe(): ScorerDescription {
    return { model: this.modelPath, backend: "llamacpp", bos: this.bos, contextLength: this.context.contextSize };
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

  /**
   * Makes the KV cache hold exactly `prefix` and returns the distribution after its last token.
   * Reuses the longest common token prefix with what the cache holds (few-shot prompts share most).
   */
  private async loadPrefix(prefix: Token[]): Promise<Map<Token, number>> {
    if (this.lastScore && sameTokens(this.state, prefix)) return this.lastScore;
    let common = 0;
    const limit = Math.min(this.state.length, prefix.length - 1);
    while (common < limit && this.state[common] === prefix[common]) common++;
    if (common < this.sequence.nextTokenIndex) await this.sequence.eraseContextTokenRanges([{ start: common, end: this.sequence.nextTokenIndex }]);
    const rest = prefix.slice(common);
    const input = rest.map((t, i) => (i === rest.length - 1 ? ([t, { generateNext: { probabilities: true } }] as const) : t));
    const res = await this.sequence.controlledEvaluate(input as never);
    const probs = res[rest.length - 1]?.next.probabilities;
    if (!probs) throw new EvalError("EVAL_LLAMA_NO_PROBS", "llama.cpp returned no probabilities for the last prefix token", { hint: "this is a bug; report it with the model" });
    this.state = [...prefix];
    this.lastScore = probs;
    return probs;
  }

  /** Scores `cont` after `prefix`: one position from the prefix's cached distribution, the rest evaluated and then erased. */
  private async scoreAfter(prefix: Token[], cont: Token[]): Promise<PositionScore[]> {
    const first = await this.loadPrefix(prefix);
    const dists: Map<Token, number>[] = [first];
    if (cont.length > 1) {
      const input = cont.slice(0, -1).map((t) => [t, { generateNext: { probabilities: true } }] as const);
      const res = await this.sequence.controlledEvaluate(input as never);
      for (let i = 0; i < cont.length - 1; i++) {
        const p = res[i]?.next.probabilities;
        if (!p) throw new EvalError("EVAL_LLAMA_NO_PROBS", `llama.cpp returned no probabilities at continuation position ${i}`, { hint: "this is a bug; report it with the model" });
        dists.push(p);
      }
      await this.sequence.eraseContextTokenRanges([{ start: prefix.length, end: this.sequence.nextTokenIndex }]);
    }
    return cont.map((t, i) => positionScore(dists[i]!, t));
  }

  async loglikelihood(requests: readonly LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    const out: LoglikelihoodResult[] = [];
    const N = this.context.contextSize;
    for (const r of requests) {
      const { context, continuation } = splitTrailingSpaces(r.context, r.continuation);
      const ctx = this.model.tokenize(context);
      const cont = this.model.tokenize(context + continuation).slice(ctx.length);
      if (cont.length === 0) {
        out.push({ logprob: 0, greedy: true });
        continue;
      }
      // Left-truncate so that at most N tokens are in play (the same cut as the engine backend).
      let all = [...this.prefixFor(ctx, this.bos), ...cont];
      const truncated = all.length > N;
      if (truncated) all = all.slice(all.length - N);
      const scored = Math.min(cont.length, all.length - 1);
      const prefix = all.slice(0, all.length - scored);
      const tail = all.slice(all.length - scored);
      const scores = await this.scoreAfter(prefix, tail);
      out.push({ logprob: scores.reduce((a, s) => a + s.logprob, 0), greedy: scores.every((s, i) => s.top === tail[i]), ...(truncated ? { truncated } : {}) });
    }
    return out;
  }

  /** Per-token scores of a whole prompt (for echo): entry i scores tokens[i + 1]. */
  async promptScores(tokens: Token[]): Promise<PositionScore[]> {
    if (tokens.length < 2) return [];
    if (tokens.length - 1 > this.context.contextSize) {
      throw new EvalError("EVAL_PROMPT_TOO_LONG", `the prompt has ${tokens.length} tokens, the context holds ${this.context.contextSize}`, { hint: "shorten the prompt or start the server with a larger --ctx" });
    }
    return this.scoreAfter(tokens.slice(0, 1), tokens.slice(1));
  }

  async scoreWindow(window: readonly number[], from: number): Promise<number[]> {
    const scores = await this.scoreAfter(window.slice(0, from) as Token[], window.slice(from) as Token[]);
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
    await this.sequence.clearHistory();
    this.state = [];
    this.lastScore = undefined;
    const generated: Token[] = [];
    let text = "";
    let emitted = 0;
    let finish: "stop" | "length" = "length";
    const eos = this.model.tokens.eos;
    const room = Math.min(o.maxTokens, N - prompt.length);
    if (room > 0) {
      const it = this.sequence.evaluate(prompt, { temperature: o.temperature ?? 0, ...(o.topP !== undefined ? { topP: o.topP } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}) });
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
    await this.sequence.clearHistory();
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

function positionScore(dist: Map<Token, number>, token: Token): PositionScore {
  const first = dist.entries().next().value as [Token, number] | undefined;
  const p = dist.get(token) ?? 0;
  return { logprob: Math.log(Math.max(p, MIN_PROB)), top: first?.[0] ?? token, topLogprob: Math.log(Math.max(first?.[1] ?? 0, MIN_PROB)) };
}

function sameTokens(a: readonly Token[], b: readonly Token[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
