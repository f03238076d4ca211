// Public surface of dusk's HTTP server: OpenAI's API (completions, chat completions, models) over
// one loaded llama.cpp model with parallel sequences. Not here: loading and generating (src/runtime).

export { startServer } from "./server.js";
export type { ServeOptions, RunningServer } from "./server.js";
