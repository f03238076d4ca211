export * from "./atomic-output.js";
export * from "./durable-write.js";
export { freeBytes, fsyncDir, fsyncFile, fsyncTree, type FreeSpace, type StatfsFn } from "./durable-fs.js";
export { OUTPUT_ERROR_CODES, outputError } from "./output-errors.js";
export * from "./build.js";
export * from "./events.js";
export * from "./verify.js";
export { modelCard } from "./model-card.js";
