#!/usr/bin/env node
// `npm test`'s runner: vitest with its usual report, plus a JSON report read back to end the run
// with one plain line ("tests: N passed, N failed, N skipped") that any CI can read.
// The exit code is vitest's own.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "dusk-test-report-"));
const report = join(dir, "vitest.json");
const vitest = join(process.cwd(), "node_modules", "vitest", "vitest.mjs");
const r = spawnSync(process.execPath, [vitest, "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)], { stdio: "inherit" });
let summary = "tests: no report was written";
try {
  const j = JSON.parse(readFileSync(report, "utf8"));
  summary = `tests: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${j.numPendingTests + (j.numTodoTests ?? 0)} skipped`;
} catch {
  /* vitest crashed before reporting; its exit code says so */
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`\n${summary}\n`);
process.exit(r.status ?? 1);
