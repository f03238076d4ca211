// Named bounds against hostile files, in one place. Every allocation or loop sized by a number
// read from a checkpoint, config or dataset is checked against one of these first.

export const LIMITS = {
  /** safetensors JSON header: the reference reader refuses > 100 MB (the Hub's readers 25 MB). */
  safetensorsHeaderBytes: 100_000_000,
  /** tensors in one file or index; Llama-405B has ~1.1k, so 1M is far past anything real. */
  tensorCount: 1_000_000,
  /** rank of a tensor (GGUF allows 4; safetensors has no limit, real models use ≤ 5). */
  tensorRank: 8,
  /** one dimension; 2^40 elements would already be a 4 TB tensor. */
  tensorDim: 2 ** 40,
  /** GGUF key/value pairs. */
  ggufKvCount: 1_000_000,
  /** GGUF strings (keys, token texts, chat templates): 64 MiB covers any chat template. */
  ggufStringBytes: 64 * 1024 * 1024,
  /** GGUF array elements (vocabularies reach ~260k; merges ~500k). */
  ggufArrayLength: 50_000_000,
  /** nesting depth of GGUF arrays of arrays. */
  ggufArrayDepth: 4,
  /** ggml tensor names are at most 63 bytes (GGML_MAX_NAME = 64 with the NUL). */
  ggufTensorNameBytes: 63,
  /** GGUF general.alignment must be a power of two no larger than this. */
  ggufMaxAlignment: 1 << 20,
  /** JSON side files (config.json, index.json, tokenizer_config.json). tokenizer.json can be ~20 MB. */
  jsonFileBytes: 256 * 1024 * 1024,
  /** decoder layers in one model or plan. */
  layerCount: 100_000,
  /** YAML recipe size. */
  recipeBytes: 4 * 1024 * 1024,
} as const;

export function assertWithin(value: number, limit: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= limit;
}

/** YAML nodes visited while reading one recipe (aliases included): bounds alias expansion. */
export const RECIPE_YAML_NODE_LIMIT = 1_000_000;

/** Elements in one f32 buffer the engine allocates (activations, logits, attention scores):
 * 2^30 floats = 4 GiB, far past a 2-core machine's useful range, and under V8's typed-array cap. */
export const ENGINE_BUFFER_ELEMENT_LIMIT = 2 ** 30;

/** Evaluation datasets (parquet / JSON / JSONL rows read into memory). */
export const EVAL_LIMITS = {
  /** rows in one split file; the largest leaderboard split (HellaSwag train) has ~40k. */
  datasetRows: 5_000_000,
  /** a JSON / JSONL split file read whole; the real parquet files are < 100 MB. */
  datasetFileBytes: 1024 * 1024 * 1024,
  /** one sample-log line (prompts of 25-shot ARC are ~10 kB; generation adds little). */
  sampleLogLineBytes: 64 * 1024 * 1024,
} as const;

/** Hub downloads (src/hub). */
export const HUB_LIMITS = {
  /** files in one repo listing; the largest public repos hold tens of thousands. */
  repoFiles: 1_000_000,
} as const;

/** Tokenizer files (src/tokenizer). */
export const TOKENIZER_LIMITS = {
  /** tokenizer.model (SentencePiece protobuf): Gemma's 256k-piece model is ~4 MB. */
  sentencePieceModelBytes: 256 * 1024 * 1024,
  /** pieces in one vocabulary (also the largest config vocab_size accepted). */
  vocabSize: 10_000_000,
  /** bytes of one piece / token text. */
  pieceBytes: 64 * 1024,
  /** BPE merges in tokenizer.json. */
  mergeCount: 50_000_000,
} as const;

/** Layer analysis and layout search (src/analyze). */
export const ANALYZE_LIMITS = {
  /** calibration text read whole: 64 MiB is ~16M tokens, hours of analysis on a 7B model. */
  textBytes: 64 * 1024 * 1024,
  /** hidden states one window holds for the all-pairs maps ((n+1)·T·D floats, per model pass):
   * 4 GiB; Mistral-7B at 512 tokens needs 277 MB. Past it, a smaller --ctx is the way out. */
  windowStateBytes: 4 * 2 ** 30,
  /** base-model states search keeps for every window so candidates resume after their shared
   * leading layers instead of recomputing them; past this it recomputes (slower, same numbers). */
  resumeCacheBytes: 2 ** 30,
  /** boundaries of one map: its matrices are B² floats; the deepest real stacks have a few hundred. */
  boundaries: 4096,
  /** candidates one search may rank. */
  searchCandidates: 10_000,
  /** steps of the seam-placement DP (k·s·n²); past it the guided candidates are left out. */
  guidedSteps: 100_000_000,
  /** --budget: 30 days. */
  budgetMs: 30 * 24 * 3600 * 1000,
} as const;
