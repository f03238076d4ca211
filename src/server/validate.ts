// Request bodies of `dusk serve` → typed generation requests, or a 400 naming the field: sampling
// (a preset, the request's own values laid over it), limits, stop strings, seeds, prompts and chat
// messages. Unknown fields are ignored, as OpenAI clients send many. Not tokenisation or HTTP.

import type { ChatMessage } from "../runtime/chat-template.js";
import type { Preset } from "../runtime/presets.js";
import { describeRange, SAMPLING_RANGES, STOP_LIMITS, type Sampling } from "../runtime/sampling.js";
import { badRequest, HttpError } from "./http.js";

/** Why these bounds: each is a loop or an allocation per request; OpenAI's own limits are lower. */
export const REQUEST_LIMITS = { n: 16, prompts: 64, logprobs: 20, messages: 1024, seed: 2 ** 53 } as const;

/**
 * What a request gets when neither it nor the server names a preset: OpenAI's defaults
 * (temperature 1, nothing truncated, no penalties), so a plain OpenAI client sees what it expects.
 */
export const OPENAI_DEFAULTS: Sampling = { temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 1, repeatLastN: 64, presencePenalty: 0, frequencyPenalty: 0 };
/** llama.cpp's default penalty window, used when a request asks for a penalty but its preset has none */
const DEFAULT_PENALTY_WINDOW = 64;

export interface GenerationRequest {
  sampling: Sampling;
  preset: string | undefined;
  /** undefined: the endpoint's default */
  maxTokens: number | undefined;
  stop: string[];
  /** undefined: a random seed per choice */
  seed: number | undefined;
  n: number;
  stream: boolean;
  includeUsage: boolean;
  /** vLLM's `ignore_eos`: generate max_tokens whatever the model says */
  ignoreEos: boolean;
}

export interface CompletionRequest extends GenerationRequest {
  /** text, or token ids */
  prompts: (string | number[])[];
  echo: boolean;
  /** alternatives per token (0: the chosen token only); undefined: no logprobs */
  logprobs: number | undefined;
  /** add BOS as the tokenizer says (vLLM's field); default true */
  addSpecialTokens: boolean;
}

export interface ChatRequest extends GenerationRequest {
  messages: ChatMessage[];
  /** alternatives per token; undefined: no logprobs */
  logprobs: number | undefined;
}

type Body = Record<string, unknown>;

/** The request's JSON field → our Sampling key. */
const SAMPLING_FIELDS: [string, keyof Sampling][] = [
  ["temperature", "temperature"],
  ["top_p", "topP"],
  ["top_k", "topK"],
  ["min_p", "minP"],
  ["presence_penalty", "presencePenalty"],
  ["frequency_penalty", "frequencyPenalty"],
  ["repetition_penalty", "repeatPenalty"],
  ["repeat_penalty", "repeatPenalty"],
  ["repeat_last_n", "repeatLastN"],
];

function present(body: Body, key: string): boolean {
  return Object.hasOwn(body, key) && body[key] !== null && body[key] !== undefined;
}

function number(body: Body, key: string, range: { min: number; max: number; integer?: boolean; minOpen?: boolean; meaning?: string }): number | undefined {
  if (!present(body, key)) return undefined;
  const v = body[key];
  const ok = typeof v === "number" && Number.isFinite(v) && (range.minOpen ? v > range.min : v >= range.min) && v <= range.max && (!range.integer || Number.isInteger(v));
  if (!ok) throw badRequest(key, `${key} is ${JSON.stringify(v)}, expected ${describeRange({ meaning: "", ...range }).replace(/ \(\)$/, "")}`);
  return v as number;
}

function boolean(body: Body, key: string): boolean | undefined {
  if (!present(body, key)) return undefined;
  if (typeof body[key] !== "boolean") throw badRequest(key, `${key} is ${JSON.stringify(body[key])}, expected true or false`);
  return body[key] as boolean;
}

/** The parts every generation endpoint shares. */
function generationRequest(body: Body, presets: ReadonlyMap<string, Preset>, serverPreset: string | undefined, maxTokensCap: number): GenerationRequest {
  let preset: string | undefined = serverPreset;
  if (present(body, "preset")) {
    if (typeof body.preset !== "string") throw badRequest("preset", `preset is ${JSON.stringify(body.preset)}, expected a preset name`);
    preset = body.preset;
  }
  let base = OPENAI_DEFAULTS;
  if (preset !== undefined) {
    const p = presets.get(preset);
    if (!p) throw badRequest("preset", `unknown preset ${JSON.stringify(preset)}; presets are ${[...presets.keys()].join(", ")}`, "unknown_preset");
    base = p.sampling;
  }
  const sampling = { ...base };
  for (const [field, key] of SAMPLING_FIELDS) {
    // vLLM spells "off" for top_k as -1.
    const v = field === "top_k" && body[field] === -1 ? 0 : number(body, field, SAMPLING_RANGES[key]);
    if (v !== undefined) sampling[key] = v;
  }
  const penalised = sampling.repeatPenalty !== 1 || sampling.presencePenalty !== 0 || sampling.frequencyPenalty !== 0;
  if (penalised && sampling.repeatLastN === 0 && !present(body, "repeat_last_n")) sampling.repeatLastN = DEFAULT_PENALTY_WINDOW;

  const maxField = present(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  const maxTokens = number(body, maxField, { min: 0, max: maxTokensCap, integer: true, meaning: "" });
  const seedRaw = number(body, "seed", { min: -REQUEST_LIMITS.seed, max: REQUEST_LIMITS.seed, integer: true });
  const n = number(body, "n", { min: 1, max: REQUEST_LIMITS.n, integer: true }) ?? 1;
  const stream = boolean(body, "stream") ?? false;
  let includeUsage = false;
  if (present(body, "stream_options")) {
    const so = body.stream_options;
    if (typeof so !== "object" || Array.isArray(so)) throw badRequest("stream_options", "stream_options must be an object such as {\"include_usage\": true}");
    includeUsage = boolean(so as Body, "include_usage") ?? false;
  }
  for (const unsupported of ["tools", "functions", "logit_bias"]) {
    const v = body[unsupported];
    if (v !== undefined && v !== null && !(typeof v === "object" && Object.keys(v).length === 0)) throw badRequest(unsupported, `${unsupported} is not supported by dusk serve`, "unsupported_parameter");
  }
  return {
    sampling,
    preset,
    maxTokens,
    stop: stopStrings(body),
    // OpenAI seeds are any 64-bit integer; llama.cpp's are 32-bit: keep the low 32 bits.
    seed: seedRaw === undefined ? undefined : ((seedRaw % 2 ** 32) + 2 ** 32) % 2 ** 32,
    n,
    stream,
    includeUsage,
    ignoreEos: boolean(body, "ignore_eos") ?? false,
  };
}

function stopStrings(body: Body): string[] {
  if (!present(body, "stop")) return [];
  const raw = body.stop;
  const list = typeof raw === "string" ? [raw] : raw;
  if (!Array.isArray(list) || list.length > STOP_LIMITS.count || !list.every((s) => typeof s === "string" && s.length > 0 && s.length <= STOP_LIMITS.length)) {
    throw badRequest("stop", `stop must be a non-empty string or an array of at most ${STOP_LIMITS.count} of them, each at most ${STOP_LIMITS.length} characters`);
  }
  return list as string[];
}

export function completionRequest(body: Body, presets: ReadonlyMap<string, Preset>, serverPreset: string | undefined, contextSize: number): CompletionRequest {
  const base = generationRequest(body, presets, serverPreset, contextSize);
  const raw = body.prompt;
  const isTokens = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => Number.isSafeInteger(t) && (t as number) >= 0);
  let prompts: (string | number[])[];
  if (typeof raw === "string") prompts = [raw];
  else if (isTokens(raw)) prompts = [raw];
  else if (Array.isArray(raw) && raw.length > 0 && raw.every((p) => typeof p === "string" || isTokens(p))) prompts = raw as (string | number[])[];
  else throw badRequest("prompt", `prompt is ${raw === undefined ? "missing" : JSON.stringify(raw).slice(0, 60)}; expected a string, an array of strings, or token ids`);
  if (prompts.length > REQUEST_LIMITS.prompts) throw badRequest("prompt", `${prompts.length} prompts in one request, at most ${REQUEST_LIMITS.prompts}`);
  const logprobs = number(body, "logprobs", { min: 0, max: REQUEST_LIMITS.logprobs, integer: true });
  const echo = boolean(body, "echo") ?? false;
  if (base.maxTokens === 0 && !echo) throw badRequest("max_tokens", "max_tokens is 0, which only makes sense with echo: true (to score the prompt)");
  if (base.stream && echo && logprobs !== undefined) throw badRequest("echo", "echo with logprobs is not streamed; send it with stream: false");
  return { ...base, prompts, echo, logprobs, addSpecialTokens: boolean(body, "add_special_tokens") ?? true };
}

export function chatRequest(body: Body, presets: ReadonlyMap<string, Preset>, serverPreset: string | undefined, contextSize: number): ChatRequest {
  const base = generationRequest(body, presets, serverPreset, contextSize);
  const raw = body.messages;
  if (!Array.isArray(raw) || raw.length === 0) throw badRequest("messages", "messages must be a non-empty array of {role, content}");
  if (raw.length > REQUEST_LIMITS.messages) throw badRequest("messages", `${raw.length} messages, at most ${REQUEST_LIMITS.messages}`);
  const messages = raw.map((m, i) => chatMessage(m, i));
  const logprobs = boolean(body, "logprobs") ?? false;
  const top = number(body, "top_logprobs", { min: 0, max: REQUEST_LIMITS.logprobs, integer: true });
  if (top !== undefined && !logprobs) throw badRequest("top_logprobs", "top_logprobs needs logprobs: true");
  return { ...base, messages, logprobs: logprobs ? (top ?? 0) : undefined };
}

const ROLES: Record<string, ChatMessage["role"]> = { system: "system", developer: "system", user: "user", assistant: "assistant" };

function chatMessage(m: unknown, i: number): ChatMessage {
  const param = `messages[${i}]`;
  if (!m || typeof m !== "object" || Array.isArray(m)) throw badRequest(param, `${param} must be an object {role, content}`);
  const { role, content } = m as Body;
  const r = typeof role === "string" ? ROLES[role] : undefined;
  if (!r) throw badRequest(`${param}.role`, `${param}.role is ${JSON.stringify(role)}, expected one of ${Object.keys(ROLES).join(", ")}`);
  if (typeof content === "string") return { role: r, content };
  // The parts form: [{type: "text", text: "..."}, ...]; only text parts are understood.
  if (Array.isArray(content) && content.every((p) => p && typeof p === "object" && (p as Body).type === "text" && typeof (p as Body).text === "string")) {
    return { role: r, content: content.map((p) => (p as { text: string }).text).join("") };
  }
  if (content === null || content === undefined) {
    if (r === "assistant") return { role: r, content: "" };
  }
  throw new HttpError(400, `${param}.content must be a string or an array of text parts (dusk serve reads text only)`, { param: `${param}.content` });
}
