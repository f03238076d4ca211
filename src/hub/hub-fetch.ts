// One HTTP request to the Hub with dusk's policy around it: the bearer token, a header timeout,
// retries with exponential backoff for 429 (honouring Retry-After) and 5xx and dropped
// connections, the caller's AbortSignal, and typed errors. It does not read bodies except to
// report an error; callers stream them.

import { HubError } from "../errors.js";
import { LIMITS } from "../limits.js";
import { HUB_ERROR_CODES, httpStatusError, networkError, networkErrorCode, type HubSubject } from "./hub-errors.js";
import type { HubSettings } from "./hub-config.js";

export interface RetryPolicy {
  /** total tries per request, first one included */
  attempts: number;
  /** first backoff; doubles each retry, with ±25 % jitter */
  baseDelayMs: number;
  maxDelayMs: number;
  /** a Retry-After longer than this ends the retries at once with HUB_RATE_LIMITED */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 30_000, maxRetryAfterMs: 120_000 };

export interface RetryNotice {
  subject: HubSubject;
  attempt: number;
  delayMs: number;
  /** HTTP status, or the network error code */
  reason: string;
}

export interface HubClient {
  settings: HubSettings;
  retry: RetryPolicy;
  /** time allowed until response headers arrive */
  headerTimeoutMs: number;
  /** time allowed between two body chunks of a download */
  idleTimeoutMs: number;
  signal: AbortSignal | undefined;
  /** the transport; default globalThis.fetch */
  fetch: typeof fetch;
  onRetry: ((n: RetryNotice) => void) | undefined;
}

export interface HubRequestInit {
  method?: "GET" | "HEAD";
  headers?: ConstructorParameters<typeof Headers>[0];
  /** non-2xx statuses the caller handles itself (e.g. 416 for a stale partial file) */
  passStatuses?: number[];
}

export interface HubResponse {
  response: Response;
  /** aborts the body stream (the download loop's idle timer uses it) */
  abort(reason: Error): void;
  /** unhook the caller's AbortSignal once the body is consumed (until then it aborts the body) */
  release(): void;
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function backoffDelay(policy: RetryPolicy, retryIndex: number, random = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retryIndex);
  return Math.round(exp * (0.75 + 0.5 * random()));
}

function abortedError(subject: HubSubject, reason: unknown): HubError {
  return new HubError(HUB_ERROR_CODES.aborted, `Download of ${subject.repo} was cancelled`, {
    cause: reason,
    hint: "Run the same command again to continue; finished files are kept and partial ones resume.",
  });
}

export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

async function errorDetail(res: Response): Promise<string> {
  const fromHeader = res.headers.get("X-Error-Message");
  if (fromHeader) {
    await res.body?.cancel().catch(() => undefined);
    return fromHeader;
  }
  // Error bodies are short JSON; read at most a few KB of whatever came.
  const reader = res.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < 4096) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const text = Buffer.concat(chunks).toString("utf8").slice(0, 4096);
  try {
    const json = JSON.parse(text) as { error?: unknown; message?: unknown };
    const msg = json.error ?? json.message;
    return typeof msg === "string" ? msg : text;
  } catch {
    return text;
  }
}

/**
 * GET/HEAD `url` with retries. Resolves with a 2xx response (or one in `passStatuses`) whose body
 * the caller must consume or cancel; throws a HubError for anything else.
 */
export async function hubRequest(client: HubClient, url: string, init: HubRequestInit, subject: HubSubject): Promise<HubResponse> {
  const headers = new Headers(init.headers);
  if (client.settings.token !== undefined) headers.set("Authorization", `Bearer ${client.settings.token}`);
  const { retry } = client;
  for (let attempt = 1; ; attempt++) {
    if (client.signal?.aborted) throw abortedError(subject, client.signal.reason);
    const controller = new AbortController();
    const onUserAbort = (): void => controller.abort(client.signal?.reason);
    client.signal?.addEventListener("abort", onUserAbort, { once: true });
    let timedOut = false;
    let linked = false; // a returned response keeps the link until its release()
    const headerTimer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error("header timeout"));
    }, client.headerTimeoutMs);
    let retryReason: string;
    let delayMs: number;
    try {
      const res = await client.fetch(url, { method: init.method ?? "GET", headers, signal: controller.signal, redirect: "follow" });
      clearTimeout(headerTimer);
      if (res.ok || init.passStatuses?.includes(res.status)) {
        linked = true;
        const release = (): void => client.signal?.removeEventListener("abort", onUserAbort);
        return { response: res, abort: (reason) => controller.abort(reason), release };
      }
      const retryable = res.status === 429 || res.status >= 500;
      if (!retryable || attempt >= retry.attempts) {
        throw httpStatusError(res.status, res.headers.get("X-Error-Code"), await errorDetail(res), subject);
      }
      const retryAfter = parseRetryAfter(res.headers.get("Retry-After"));
      if (retryAfter !== undefined && retryAfter > retry.maxRetryAfterMs) {
        throw httpStatusError(res.status, res.headers.get("X-Error-Code"), `Retry-After ${retryAfter / 1000} s`, subject);
      }
      await res.body?.cancel().catch(() => undefined);
      retryReason = `HTTP ${res.status}`;
      delayMs = retryAfter ?? backoffDelay(retry, attempt - 1);
    } catch (e) {
      clearTimeout(headerTimer);
      if (e instanceof HubError) throw e;
      if (client.signal?.aborted) throw abortedError(subject, client.signal.reason);
      if (attempt >= retry.attempts) throw networkError(e, subject, timedOut);
      retryReason = timedOut ? "timeout" : (networkErrorCode(e) ?? "network error");
      delayMs = backoffDelay(retry, attempt - 1);
    } finally {
      if (!linked) client.signal?.removeEventListener("abort", onUserAbort);
    }
    client.onRetry?.({ subject, attempt, delayMs, reason: retryReason });
    try {
      await sleep(delayMs, client.signal);
    } catch (reason) {
      throw abortedError(subject, reason);
    }
  }
}

/**
 * A `fetch` for @huggingface/hub's listing calls that routes through hubRequest, so its requests
 * get our token handling, retries and typed errors (it throws before @huggingface/hub sees a
 * failed response). JSON answers larger than LIMITS.jsonFileBytes are refused.
 */
export function fetchForHubLibrary(client: HubClient, subject: HubSubject): typeof fetch {
  return async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const { response, release } = await hubRequest(client, url, { headers: init?.headers }, subject);
    release(); // JSON answers are small; the caller's signal is checked again before the next request
    const length = Number(response.headers.get("Content-Length") ?? "0");
    if (length > LIMITS.jsonFileBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new HubError(HUB_ERROR_CODES.badResponse, `The Hub's answer for ${subject.repo} is ${length} bytes (limit ${LIMITS.jsonFileBytes})`, {
        hint: `Check that HF_ENDPOINT (now ${subject.endpoint}) is a Hugging Face Hub.`,
      });
    }
    return response;
  };
}
