export * from "./architecture.js";
export * from "./families.js";
export * from "./detect.js";
export * from "./hparams.js";
export * from "./rope-factors.js";
