// `dusk serve`'s /metrics: counters, gauges and histograms kept in memory and written in the
// Prometheus text exposition format (version 0.0.4). Not a client library: the few metric kinds
// the server needs, with bounded label sets (endpoints and status codes it answers itself).

/** Why these buckets: time to first token on a CPU runs from milliseconds (tiny models) to a minute (long prompts). */
const TTFT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** the window of the tokens/s gauge */
const RATE_WINDOW_MS = 10_000;

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) this.counts[i]!++;
  }
  render(name: string): string[] {
    return [
      ...this.buckets.map((b, i) => `${name}_bucket{le="${b}"} ${this.counts[i]}`),
      `${name}_bucket{le="+Inf"} ${this.count}`,
      `${name}_sum ${this.sum}`,
      `${name}_count ${this.count}`,
    ];
  }
}

export class ServerMetrics {
  private readonly requests = new Map<string, number>();
  private readonly errors = new Map<string, number>();
  promptTokens = 0;
  generatedTokens = 0;
  private readonly ttft = new Histogram(TTFT_BUCKETS);
  private readonly duration = new Histogram(DURATION_BUCKETS);
  /** [time ms, tokens] of recent generation, for the tokens/s gauge */
  private recent: [number, number][] = [];

  constructor(private readonly live: () => { waiting: number; running: number; slots: number; ready: boolean }) {}

  /** One answered request; 499 (nginx's "client closed request"): the client went away first. */
  request(endpoint: string, status: number, seconds: number): void {
    const key = `endpoint="${endpoint}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    this.duration.observe(seconds);
    if (status >= 400) {
      const type = status === 499 ? "client_closed" : status >= 500 ? "server" : status === 429 ? "rate_limited" : status === 408 ? "timeout" : status === 401 ? "unauthorized" : "invalid_request";
      this.errors.set(type, (this.errors.get(type) ?? 0) + 1);
    }
  }

  firstToken(seconds: number): void {
    this.ttft.observe(seconds);
  }

  tokens(prompt: number, generated: number): void {
    this.promptTokens += prompt;
    this.generatedTokens += generated;
  }

  generatedOne(now = Date.now()): void {
    const last = this.recent.at(-1);
    if (last && now - last[0] < 100) last[1]++;
    else this.recent.push([now, 1]);
    while (this.recent.length > 0 && now - this.recent[0]![0] > RATE_WINDOW_MS) this.recent.shift();
  }

  tokensPerSecond(now = Date.now()): number {
    const inWindow = this.recent.filter(([t]) => now - t <= RATE_WINDOW_MS);
    return inWindow.reduce((n, [, c]) => n + c, 0) / (RATE_WINDOW_MS / 1000);
  }

  render(): string {
    const live = this.live();
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, lines: string[]) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
    metric("dusk_requests_total", "counter", "HTTP requests answered, by endpoint and status code", [...this.requests].map(([k, v]) => `dusk_requests_total{${k}} ${v}`));
    metric("dusk_errors_total", "counter", "failed or cancelled requests, by kind", [...this.errors].map(([k, v]) => `dusk_errors_total{type="${k}"} ${v}`));
    metric("dusk_prompt_tokens_total", "counter", "prompt tokens processed", [`dusk_prompt_tokens_total ${this.promptTokens}`]);
    metric("dusk_generated_tokens_total", "counter", "tokens generated", [`dusk_generated_tokens_total ${this.generatedTokens}`]);
    metric("dusk_generated_tokens_per_second", "gauge", `tokens generated per second over the last ${RATE_WINDOW_MS / 1000} s, all sequences together`, [`dusk_generated_tokens_per_second ${this.tokensPerSecond()}`]);
    metric("dusk_time_to_first_token_seconds", "histogram", "from a request's arrival to its first generated token", this.ttft.render("dusk_time_to_first_token_seconds"));
    metric("dusk_request_duration_seconds", "histogram", "from a request's arrival to its answer's end", this.duration.render("dusk_request_duration_seconds"));
    metric("dusk_queue_depth", "gauge", "requests waiting for a sequence", [`dusk_queue_depth ${live.waiting}`]);
    metric("dusk_requests_running", "gauge", "requests holding a sequence", [`dusk_requests_running ${live.running}`]);
    metric("dusk_sequences", "gauge", "parallel sequences (--parallel)", [`dusk_sequences ${live.slots}`]);
    metric("dusk_ready", "gauge", "1 once the model is loaded", [`dusk_ready ${live.ready ? 1 : 0}`]);
    return out.join("\n") + "\n";
  }
}
