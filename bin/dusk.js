#!/usr/bin/env node
// The `dusk` command: runs the compiled CLI in dist/. A checkout that has not been built yet gets
// one line saying so instead of Node's module-not-found stack.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(`error: dusk is not built: ${fileURLToPath(entry)} is missing\nhint: run \`npm run build\` first (in ${fileURLToPath(new URL("..", import.meta.url))})\n`);
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
