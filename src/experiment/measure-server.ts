// One model measured through an OpenAI-compatible server that the experiment starts for it from
// the user's command template (`--server 'vllm serve {model} --port {port}'`) and stops after.
// Perplexity windows go to the server as token ids (the base's tokenizer, shared by every stack),
// so it scores exactly the tokens llama.cpp would; tasks use text prompts as lm-eval's
// local-completions does, without BOS as the llama.cpp path (v1's protocol), asked for with
// `add_special_tokens: false` (vLLM and dusk serve honour it).

import { OpenAiScorer, type OpenAiScorerOptions } from "../eval/backend-openai.js";
import { launchServer } from "../eval/launch-server.js";
import type { WindowScorer } from "../eval/perplexity.js";
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

/** The OpenAI backend plus token windows, tokenized here (the base's tokenizer) and sent as ids. */
class ServerScorer extends OpenAiScorer implements WindowScorer {
  constructor(opts: OpenAiScorerOptions, private readonly tokenizer: TrainTokenizer, readonly maxWindow: number) {
    super(opts);
  }
  tokenize(text: string): number[] {
    return this.tokenizer.encode(text);
  }
  scoreWindow(window: readonly number[], from: number): Promise<ArrayLike<number>> {
    return this.scoreTokenWindow(window, from);
  }
}

export async function measureOnServer(server: ServerSettings, vars: Record<string, string>, tokenizer: TrainTokenizer, o: MeasureOptions & { signal?: AbortSignal }): Promise<Measurement> {
  const launched = await launchServer({
    template: server.template, vars,
    ...(server.model ? { model: server.model } : {}), ...(server.apiKey ? { apiKey: server.apiKey } : {}),
    ...(server.readyTimeoutMs ? { readyTimeoutMs: server.readyTimeoutMs } : {}), ...(o.signal ? { signal: o.signal } : {}),
  });
  try {
    const opts: OpenAiScorerOptions = { baseUrl: launched.baseUrl, model: launched.model, ...(server.apiKey ? { apiKey: server.apiKey } : {}), concurrency: server.concurrency ?? 4, bos: false };
    return await measureWith(new ServerScorer(opts, tokenizer, o.ctx), `server: ${launched.model} (${server.template})`, o);
  } finally {
    await launched.stop();
  }
}
