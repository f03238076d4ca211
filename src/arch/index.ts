export * from "./architecture.js";
export * from "./families/index.js";
export * from "./detect.js";
export * from "./hparams.js";
export * from "./rope-factors.js";
export * from "./layer-types.js";
export * from "./role-shapes.js";
export { llamaCppQueryPreAttnScalar } from "./hparams-gguf.js";
