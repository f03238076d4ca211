export * from "./atomic-output.js";
export * from "./build.js";
export * from "./events.js";
export * from "./verify.js";
export { modelCard } from "./model-card.js";
