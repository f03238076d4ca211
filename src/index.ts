// The library surface: `import {…} from "dusk"`. The CLI uses only what is exported here.
export * from "./errors.js";
export { LIMITS } from "./limits.js";
export * from "./formats/byte-source.js";
export * from "./formats/tensor-types.js";
export type * from "./formats/tensor.js";
