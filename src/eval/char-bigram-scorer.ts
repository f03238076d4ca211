// A real, tiny Scorer: a character-level bigram language model (add-α smoothing) trained on a
// text. Tokens are Unicode code points, so it follows the tokenisation contract trivially and
// gives true log-likelihoods — enough to check the runner's plumbing end to end, fast.
// Not for: measuring anything about real models.

import { cutAtStopStrings, splitTrailingSpaces, type GenerateRequest, type GenerateResult, type LoglikelihoodRequest, type LoglikelihoodResult, type Scorer, type ScorerDescription } from "./scorer.js";

export interface CharBigramOptions {
  /** window in tokens (BOS included); longer inputs are cut from the left */
  contextLength?: number;
  bos?: boolean;
  /** add-α smoothing */
  alpha?: number;
}

export class CharBigramScorer implements Scorer {
  readonly name = "char-bigram";
  private readonly ids = new Map<string, number>();
  private readonly chars: string[] = [];
  /** [prev (V known + UNK + BOS)] × [next (V known + UNK)] log-probabilities, row-major */
  private readonly logp: Float64Array;
  private readonly argmaxNext: Int32Array;
  private readonly unk: number;
  private readonly bosId: number;
  private readonly contextLength: number;
  private readonly bos: boolean;

  constructor(trainingText: string, opts: CharBigramOptions = {}) {
    for (const ch of trainingText) {
      if (!this.ids.has(ch)) {
        this.ids.set(ch, this.chars.length);
        this.chars.push(ch);
      }
    }
    const v = this.chars.length;
    this.unk = v;
    this.bosId = v + 1;
    const cols = v + 1;
    const rows = v + 2;
    const counts = new Float64Array(rows * cols);
    let prev = this.bosId;
    for (const ch of trainingText) {
      const id = this.ids.get(ch)!;
      counts[prev * cols + id]! += 1;
      prev = id;
    }
    const alpha = opts.alpha ?? 0.1;
    this.logp = new Float64Array(rows * cols);
    this.argmaxNext = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      let total = 0;
      for (let c = 0; c < cols; c++) total += counts[r * cols + c]!;
      let best = 0;
      for (let c = 0; c < cols; c++) {
        this.logp[r * cols + c] = Math.log((counts[r * cols + c]! + alpha) / (total + alpha * cols));
        if (counts[r * cols + c]! > counts[r * cols + best]!) best = c;
      }
      this.argmaxNext[r] = best;
    }
    this.contextLength = opts.contextLength ?? 2048;
    this.bos = opts.bos ?? false;
  }

  private encode(s: string): number[] {
    const out: number[] = [];
    for (const ch of s) out.push(this.ids.get(ch) ?? this.unk);
    return out;
  }

  private lp(prev: number, next: number): number {
    return this.logp[prev * (this.chars.length + 1) + next]!;
  }

  async loglikelihood(requests: readonly LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    return requests.map((req) => {
      const { context, continuation } = splitTrailingSpaces(req.context, req.continuation);
      const ctx = this.encode(context);
      const whole = this.encode(context + continuation);
      const cont = whole.slice(ctx.length);
      let tokens = this.bos ? [this.bosId, ...whole] : whole;
      let contStart = tokens.length - cont.length;
      let truncated = false;
      // Keep the last contextLength+1 tokens: the final one is predicted, not fed.
      if (tokens.length > this.contextLength + 1) {
        const drop = tokens.length - (this.contextLength + 1);
        tokens = tokens.slice(drop);
        contStart -= drop;
        truncated = true;
      }
      let logprob = 0;
      let greedy = true;
      for (let i = Math.max(contStart, 0); i < tokens.length; i++) {
        const prev = i === 0 ? this.bosId : tokens[i - 1]!;
        logprob += this.lp(prev, tokens[i]!);
        if (this.argmaxNext[prev] !== tokens[i]) greedy = false;
      }
      return truncated ? { logprob, greedy, truncated } : { logprob, greedy };
    });
  }

  async generate(requests: readonly GenerateRequest[]): Promise<GenerateResult[]> {
    return requests.map((req) => {
      const ctx = this.encode(req.context);
      const truncated = ctx.length + (this.bos ? 1 : 0) > this.contextLength - req.maxTokens;
      let prev = ctx.length > 0 ? ctx[ctx.length - 1]! : this.bosId;
      let text = "";
      for (let n = 0; n < req.maxTokens; n++) {
        const next = this.argmaxNext[prev]!;
        if (next === this.unk) break;
        text += this.chars[next]!;
        prev = next;
        const cut = cutAtStopStrings(text, req.until);
        if (cut.length < text.length) return { text: cut, ...(truncated ? { truncated } : {}) };
      }
      return { text, ...(truncated ? { truncated } : {}) };
    });
  }

  describe(): ScorerDescription {
    return { model: `char-bigram(${this.chars.length} symbols)`, backend: "char-bigram", bos: this.bos, contextLength: this.contextLength, dtype: "f64" };
  }
}
