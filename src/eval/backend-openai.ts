// The eval Scorer over an OpenAI-compatible completions endpoint (vLLM, llama-server, `dusk serve`),
// as lm-eval's `local-completions` does it: log-likelihoods from `echo: true, logprobs: 1,
// max_tokens: 0` (the continuation is the prompt tokens at or after the context's end, by
// `text_offset`), generation with `stop`. Retries 429/5xx/timeouts with backoff (Retry-After honoured).
// Not here: chat endpoints (token logprobs of a prompt need completions) or tokenisers.

import { EvalError } from "../errors.js";
import { cutAtStopStrings, splitTrailingSpaces, type GenerateRequest, type GenerateResult, type LoglikelihoodRequest, type LoglikelihoodResult, type Scorer, type ScorerDescription } from "./scorer.js";

export interface OpenAiScorerOptions {
  /** e.g. http://127.0.0.1:8000/v1 (a URL ending in /completions is used as is) */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /**
   * Whether text prompts start with BOS, sent as vLLM's `add_special_tokens` (which dusk serve
   * honours too); default: the server decides (vLLM and llama-server follow the tokenizer).
   */
  bos?: boolean;
  /** requests in flight at once; default 4 */
  concurrency?: number;
  /** retries after the first try; default 5 */
  retries?: number;
  /** first backoff; doubles each retry; default 500 ms */
  backoffMs?: number;
  /** longest wait between tries (also caps Retry-After); default 30 s */
  maxBackoffMs?: number;
  /** per request; default 300 s */
  timeoutMs?: number;
  fetch?: typeof fetch;
  onRetry?: (notice: { attempt: number; waitMs: number; reason: string }) => void;
}

/** The fields of a completions response this backend reads. */
interface CompletionLogprobs {
  tokens?: string[];
  token_logprobs?: (number | null)[];
  text_offset?: number[];
  top_logprobs?: (Record<string, number> | null)[] | null;
}

export class OpenAiScorer implements Scorer {
  readonly name = "openai";
  private readonly url: string;
  constructor(private readonly opts: OpenAiScorerOptions) {
    const base = opts.baseUrl.replace(/\/+$/, "");
    this.url = base.endsWith("/completions") ? base : `${base}/completions`;
    try {
      new URL(this.url);
    } catch {
      throw new EvalError("EVAL_BAD_URL", `--base-url ${JSON.stringify(opts.baseUrl)} is not a URL`, { hint: "e.g. --base-url http://127.0.0.1:8000/v1" });
    }
  }

  describe(): ScorerDescription {
    // Unless asked for, BOS is the server's business (vLLM and llama-server add it when the tokenizer says so).
    return { model: this.opts.model, backend: "openai", bos: this.opts.bos ?? false, baseUrl: this.url, bosDecidedByServer: this.opts.bos === undefined };
  }

  async loglikelihood(requests: readonly LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    return this.pool(requests, async (r) => {
      const { context, continuation } = splitTrailingSpaces(r.context, r.continuation);
      const body = await this.post({ model: this.opts.model, prompt: context + continuation, echo: true, logprobs: 1, max_tokens: 0, temperature: 0, ...this.special() });
      return continuationScore(body, [...context].length, this.url);
    });
  }

  /**
   * Log-probabilities of window[from..] given what precedes it, from the prompt-token logprobs of a
   * token-id prompt (echo, max_tokens 0): the server adds nothing (no BOS) to a token prompt.
   */
  async scoreTokenWindow(window: readonly number[], from: number): Promise<Float64Array> {
    const body = await this.post({ model: this.opts.model, prompt: [...window], echo: true, logprobs: 1, max_tokens: 0, temperature: 0 });
    const lps = (body as { choices?: { logprobs?: CompletionLogprobs }[] }).choices?.[0]?.logprobs?.token_logprobs;
    if (!Array.isArray(lps) || lps.length < window.length) throw badResponse(this.url, "choices[0].logprobs.token_logprobs", `${window.length} entries`, JSON.stringify(lps ?? null).slice(0, 80));
    const out = new Float64Array(window.length - from);
    for (let i = from; i < window.length; i++) {
      const v = lps[i];
      if (typeof v !== "number") throw badResponse(this.url, `choices[0].logprobs.token_logprobs[${i}]`, "a number", String(v));
      out[i - from] = v;
    }
    return out;
  }

  async generate(requests: readonly GenerateRequest[]): Promise<GenerateResult[]> {
    return this.pool(requests, async (r) => {
      const body = await this.post({ model: this.opts.model, prompt: r.context, max_tokens: r.maxTokens, temperature: 0, ...this.special(), ...(r.until.length > 0 ? { stop: r.until.slice(0, 4) } : {}) });
      const text = (body as { choices?: { text?: unknown }[] }).choices?.[0]?.text;
      if (typeof text !== "string") throw badResponse(this.url, "choices[0].text", "a string", typeof text);
      return { text: cutAtStopStrings(text, r.until) };
    });
  }

  private special(): { add_special_tokens?: boolean } {
    return this.opts.bos === undefined ? {} : { add_special_tokens: this.opts.bos };
  }

  private async pool<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
    const out = new Array<R>(items.length);
    let next = 0;
    const lanes = Math.max(1, Math.min(this.opts.concurrency ?? 4, items.length));
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < items.length) {
          const i = next++;
          out[i] = await work(items[i]!);
        }
      }),
    );
    return out;
  }

  /** POST with retries: 429 and 5xx and network errors/timeouts back off; other 4xx fail at once. */
  private async post(payload: Record<string, unknown>): Promise<unknown> {
    const doFetch = this.opts.fetch ?? fetch;
    const retries = this.opts.retries ?? 5;
    const maxWait = this.opts.maxBackoffMs ?? 30_000;
    let lastReason = "";
    for (let attempt = 0; ; attempt++) {
      let waitMs = Math.min(maxWait, (this.opts.backoffMs ?? 500) * 2 ** attempt);
      try {
        const res = await doFetch(this.url, {
          method: "POST",
          headers: { "content-type": "application/json", ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}) },
          body: JSON.stringify(payload),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 300_000),
        });
        const text = await res.text();
        if (res.ok) {
          try {
            return JSON.parse(text) as unknown;
          } catch {
            throw badResponse(this.url, "body", "JSON", text.slice(0, 80));
          }
        }
        lastReason = `HTTP ${res.status}: ${text.slice(0, 200)}`;
        if (res.status !== 429 && res.status < 500) {
          throw new EvalError("EVAL_HTTP", `${this.url} answered ${lastReason}`, {
            hint: res.status === 401 || res.status === 403 ? "pass --api-key or set OPENAI_API_KEY" : res.status === 404 ? "check --base-url (it should end in /v1) and --model" : "check the request options the server accepts",
          });
        }
        const after = retryAfterMs(res.headers.get("retry-after"));
        if (after !== undefined) waitMs = Math.min(maxWait, after);
      } catch (e) {
        if (e instanceof EvalError) throw e;
        lastReason = (e as Error).name === "TimeoutError" ? "timed out" : `network error: ${(e as Error).message}`;
      }
      if (attempt >= retries) {
        throw new EvalError("EVAL_HTTP_RETRIES", `${this.url} failed ${attempt + 1} times; last: ${lastReason}`, { hint: "check that the server is up and not overloaded; lower --concurrency" });
      }
      this.opts.onRetry?.({ attempt: attempt + 1, waitMs, reason: lastReason });
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}

/** Retry-After as delay-seconds or an HTTP date → milliseconds (undefined when absent or unreadable). */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function badResponse(url: string, field: string, expected: string, actual: string): EvalError {
  return new EvalError("EVAL_BAD_RESPONSE", `${url}: response field ${field}: expected ${expected}, found ${actual}`, { hint: "the server must implement OpenAI completions with echo and logprobs (vLLM, llama-server, dusk serve)" });
}

/** Sums the prompt-token logprobs from the first token whose text_offset reaches the context's end (code points). */
export function continuationScore(body: unknown, contextChars: number, url: string): LoglikelihoodResult {
  const lp = (body as { choices?: { logprobs?: CompletionLogprobs }[] }).choices?.[0]?.logprobs;
  if (!lp || !Array.isArray(lp.tokens) || !Array.isArray(lp.token_logprobs) || !Array.isArray(lp.text_offset)) {
    throw badResponse(url, "choices[0].logprobs", "{tokens, token_logprobs, text_offset}", JSON.stringify(lp ?? null).slice(0, 80));
  }
  const n = lp.tokens.length;
  if (lp.token_logprobs.length !== n || lp.text_offset.length !== n) throw badResponse(url, "choices[0].logprobs", `arrays of one length (${n})`, `${lp.token_logprobs.length}/${lp.text_offset.length}`);
  let idx = 0;
  while (idx < n && lp.text_offset[idx]! < contextChars) idx++;
  let logprob = 0;
  let greedy = true;
  for (let i = idx; i < n; i++) {
    const v = lp.token_logprobs[i];
    if (typeof v !== "number") throw badResponse(url, `choices[0].logprobs.token_logprobs[${i}]`, "a number", String(v));
    logprob += v;
    const top = lp.top_logprobs?.[i];
    if (top) {
      const best = Object.entries(top).reduce((a, b) => (b[1] > a[1] ? b : a), ["", -Infinity] as [string, number]);
      if (best[0] !== lp.tokens[i]) greedy = false;
    }
  }
  return { logprob, greedy };
}
