// A real, tiny Scorer: a character-level n-gram language model trained on a text. Tokens are
// Unicode code points, so it follows the tokenisation contract trivially and gives true
// log-likelihoods — enough to check the runner's plumbing end to end, fast. Order 2 (a bigram)
// knows only which character follows which; a higher order memorises the text, which is what a
// "scorer that knows the text" needs (nextline). Not for: measuring anything about real models.

import { EvalError } from "../errors.js";
import { cutAtStopStrings, splitTrailingSpaces, type GenerateRequest, type GenerateResult, type LoglikelihoodRequest, type LoglikelihoodResult, type Scorer, type ScorerDescription } from "./scorer.js";

export interface CharNgramOptions {
  /** n: each character is predicted from the n − 1 before it (default 2, a bigram) */
  order?: number;
  /** window in tokens (BOS included); longer inputs are cut from the left */
  contextLength?: number;
  bos?: boolean;
  /** add-α smoothing of the unigram distribution everything backs off to */
  alpha?: number;
}

/** Counts by integer key: a dense array for small key spaces (a bigram's), a Map beyond. */
interface Counts {
  get(key: number): number;
  add(key: number): void;
}

// 1 Mi keys: 4 MB of counts; a base-67 (Shakespeare) trigram table fits, a 4-gram's does not
const DENSE_KEYS = 1 << 20;

function counts(keySpace: number): Counts {
  if (keySpace <= DENSE_KEYS) {
    const a = new Uint32Array(keySpace);
    return { get: (key) => a[key]!, add: (key) => void (a[key]! += 1) };
  }
  const m = new Map<number, number>();
  return { get: (key) => m.get(key) ?? 0, add: (key) => void m.set(key, (m.get(key) ?? 0) + 1) };
}

/**
 * p₀(c) = (count(c) + α) / (N + α·(V+1)) over the V characters seen plus UNK, and for k ≥ 1
 * p_k(c | h) = (count(h c) + p_{k−1}(c | h′)) / (count(h) + 1), h′ being h without its first
 * token: every order interpolates with the one below, so unseen histories fall back smoothly
 * and each p_k sums to 1.
 */
export class CharNgramScorer implements Scorer {
  readonly name: string = "char-ngram";
  private readonly ids = new Map<string, number>();
  private readonly chars: string[] = [];
  private readonly order: number;
  /** ids 0..V−1 characters, V = UNK, V+1 = BOS; histories are numbers in this base */
  private readonly base: number;
  /** count of each character (index = id; UNK stays 0) */
  private readonly unigram: Float64Array;
  private readonly total: number;
  /** [k − 1]: history key → count and history key·base + next → count, for histories of k tokens */
  private readonly histories: Counts[] = [];
  private readonly joint: Counts[] = [];
  private readonly alpha: number;
  private readonly unk: number;
  private readonly bosId: number;
  private readonly contextLength: number;
  private readonly bos: boolean;

  constructor(trainingText: string, opts: CharNgramOptions = {}) {
    this.order = opts.order ?? 2;
    if (!Number.isSafeInteger(this.order) || this.order < 1) throw new EvalError("EVAL_BAD_ARG", `n-gram order must be a positive integer, got ${opts.order}`);
    const seq: number[] = [];
    for (const ch of trainingText) {
      let id = this.ids.get(ch);
      if (id === undefined) {
        id = this.chars.length;
        this.ids.set(ch, id);
        this.chars.push(ch);
      }
      seq.push(id);
    }
    this.unk = this.chars.length;
    this.bosId = this.chars.length + 1;
    this.base = this.chars.length + 2;
    // a history of n−1 ids and the next one form one integer key, exact below 2^53
    if (this.base ** this.order > Number.MAX_SAFE_INTEGER) {
      throw new EvalError("EVAL_BAD_ARG", `order ${this.order} is too high for a text of ${this.chars.length} distinct characters`, { hint: "Use a lower order." });
    }
    this.unigram = new Float64Array(this.chars.length + 1);
    for (const id of seq) this.unigram[id]! += 1;
    this.total = seq.length;
    for (let k = 1; k < this.order; k++) {
      this.histories.push(counts(this.base ** k));
      this.joint.push(counts(this.base ** (k + 1)));
    }
    const withBos = [this.bosId, ...seq];
    for (let i = 1; i < withBos.length; i++) {
      // historyKeys inlined: this loop runs once per character of the training text
      let h = 0;
      let scale = 1;
      for (let k = 1; k < this.order && k <= i; k++) {
        h += withBos[i - k]! * scale;
        scale *= this.base;
        this.histories[k - 1]!.add(h);
        this.joint[k - 1]!.add(h * this.base + withBos[i]!);
      }
    }
    this.alpha = opts.alpha ?? 0.1;
    this.contextLength = opts.contextLength ?? 2048;
    this.bos = opts.bos ?? false;
  }

  /**
   * Keys of the histories of tokens[i] with 1..n−1 tokens (fewer near the start): the most recent
   * token is the lowest digit. The first token of a request without BOS is predicted after BOS,
   * as training began.
   */
  private historyKeys(tokens: readonly number[], i: number): number[] {
    if (i === 0) return this.order > 1 ? [this.bosId] : [];
    const keys: number[] = [];
    let h = 0;
    let scale = 1;
    for (let k = 1; k < this.order && k <= i; k++) {
      h += tokens[i - k]! * scale;
      scale *= this.base;
      keys.push(h);
    }
    return keys;
  }

  /** p(next | history), from historyKeys. */
  private prob(keys: readonly number[], next: number): number {
    let p = (this.unigram[next]! + this.alpha) / (this.total + this.alpha * (this.chars.length + 1));
    for (let k = 0; k < keys.length; k++) {
      const n = this.histories[k]!.get(keys[k]!);
      if (n === 0) break; // longer histories containing an unseen one are unseen too
      p = (this.joint[k]!.get(keys[k]! * this.base + next) + p) / (n + 1);
    }
    return p;
  }

  /** The most likely next id (the first of ties; UNK only when nothing was seen). */
  private argmaxNext(keys: readonly number[]): number {
    let best = 0;
    let bestP = -1;
    for (let c = 0; c <= this.chars.length; c++) {
      const p = this.prob(keys, c);
      if (p > bestP) [best, bestP] = [c, p];
    }
    return best;
  }

  private encode(s: string): number[] {
    const out: number[] = [];
    for (const ch of s) out.push(this.ids.get(ch) ?? this.unk);
    return out;
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
        const keys = this.historyKeys(tokens, i);
        const p = this.prob(keys, tokens[i]!);
        logprob += Math.log(p);
        // above 1/2 it is the argmax for sure; otherwise compare with every character
        if (greedy && p <= 0.5 && this.argmaxNext(keys) !== tokens[i]) greedy = false;
      }
      return truncated ? { logprob, greedy, truncated } : { logprob, greedy };
    });
  }

  async generate(requests: readonly GenerateRequest[]): Promise<GenerateResult[]> {
    return requests.map((req) => {
      const tokens = this.encode(req.context);
      const truncated = tokens.length + (this.bos ? 1 : 0) > this.contextLength - req.maxTokens;
      let text = "";
      for (let n = 0; n < req.maxTokens; n++) {
        const next = this.argmaxNext(this.historyKeys(tokens, tokens.length));
        if (next === this.unk) break;
        text += this.chars[next]!;
        tokens.push(next);
        const cut = cutAtStopStrings(text, req.until);
        if (cut.length < text.length) return { text: cut, ...(truncated ? { truncated } : {}) };
      }
      return { text, ...(truncated ? { truncated } : {}) };
    });
  }

  describe(): ScorerDescription {
    return { model: `char-${this.order}gram(${this.chars.length} symbols)`, backend: this.name, bos: this.bos, contextLength: this.contextLength, dtype: "f64" };
  }
}

/** The order-2 n-gram: which character follows which, nothing more. */
export class CharBigramScorer extends CharNgramScorer {
  override readonly name = "char-bigram";
  constructor(trainingText: string, opts: Omit<CharNgramOptions, "order"> = {}) {
    super(trainingText, { ...opts, order: 2 });
  }
}
