// One model measured through an OpenAI-compatible server that the experiment starts for it from
// the user's command template (`--server 'vllm serve {model} --port {port}'`) and stops after.
// Perplexity windows go to the server as token ids (the base's tokenizer, shared by every stack),
// so it scores exactly the tokens llama.cpp would; tasks use text prompts as lm-eval's
// local-completions does, without BOS as the llama.cpp path (v1's protocol), asked for with
// `add_special_tokens: false` (vLLM and dusk serve honour it).

import { OpenAiScorer } from "../eval/backend-openai.js";
import { launchServer } from "../eval/launch-server.js";
import type { WindowScorer } from "../eval/perplexity.js";
import type { GenerateRequest, GenerateResult, LoglikelihoodRequest, LoglikelihoodResult, Scorer, ScorerDescription } from "../eval/scorer.js";
import type { TrainTokenizer } from "../train/data.js";
import { measureWith, type Measurement, type MeasureOptions } from "./measure.js";

export interface ServerSettings {
  /** command template with {port} and any of {model} {gguf} {name} */
  template: string;
  /** model name to request; default: the server's first */
  model?: string;
  apiKey?: string;
  readyTimeoutMs?: number;
  /** requests in flight at once */
  concurrency?: number;
}

/** The OpenAI backend plus token-window scoring with a local tokenizer. */
class ServerScorer implements Scorer, WindowScorer {
  readonly name = "openai";
  constructor(private readonly api: OpenAiScorer, private readonly tokenizer: TrainTokenizer, readonly maxWindow: number) {}
  tokenize(text: string): number[] {
    return this.tokenizer.encode(text);
  }
  scoreWindow(window: readonly number[], from: number): Promise<ArrayLike<number>> {
    return this.api.scoreTokenWindow(window, from);
  }
  loglikelihood(requests: readonly LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    return this.api.loglikelihood(requests);
  }
  generate(requests: readonly GenerateRequest[]): Promise<GenerateResult[]> {
    return this.api.generate(requests);
  }
  describe(): ScorerDescription {
    return this.api.describe();
  }
}

export async function measureOnServer(server: ServerSettings, vars: Record<string, string>, tokenizer: TrainTokenizer, o: MeasureOptions & { signal?: AbortSignal }): Promise<Measurement> {
  const launched = await launchServer({
    template: server.template, vars,
    ...(server.model ? { model: server.model } : {}), ...(server.apiKey ? { apiKey: server.apiKey } : {}),
    ...(server.readyTimeoutMs ? { readyTimeoutMs: server.readyTimeoutMs } : {}), ...(o.signal ? { signal: o.signal } : {}),
  });
  try {
    const api = new OpenAiScorer({ baseUrl: launched.baseUrl, model: launched.model, ...(server.apiKey ? { apiKey: server.apiKey } : {}), concurrency: server.concurrency ?? 4, bos: false });
    return await measureWith(new ServerScorer(api, tokenizer, o.ctx), `server: ${launched.model} (${server.template})`, o);
  } finally {
    await launched.stop();
  }
}
