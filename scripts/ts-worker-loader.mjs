// Development only: lets a worker thread started from TypeScript sources (vitest runs src/ as .ts)
// load .ts modules, by transpiling them with the project's own TypeScript. Compiled code (dist/)
// never uses it. Usage: new Worker(url, { execArgv: ["--import", <this file's URL>] }).
import { register } from "node:module";

register("./ts-worker-hooks.mjs", import.meta.url);
