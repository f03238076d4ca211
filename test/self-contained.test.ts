// A user's clone has nothing beside it: no file the project tracks may reach outside the
// repository for data (the development machines have a ../shared folder; users and CI's isolated
// clone do not). .ci/run also runs the whole suite in a clone with nothing beside it.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const OUTSIDE = /\.\.\/shared\b|\bshared\/(data|docs)\b/;

test("no tracked source, test, bench or script reads ../shared", () => {
  const files = execFileSync("git", ["ls-files", "src", "test", "bench", "scripts", "bin", ".ci", "package.json"], { cwd: root, encoding: "utf8" })
    .split("\n")
    .filter((f) => f && f !== "test/self-contained.test.ts");
  expect(files.length).toBeGreaterThan(50);
  const offenders = files.filter((f) => OUTSIDE.test(readFileSync(`${root}/${f}`, "utf8")));
  expect(offenders).toEqual([]);
});

test("the shipped corpus is in the repository and the package", () => {
  const pkg = JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as { files: string[] };
  expect(pkg.files).toContain("assets");
  const text = readFileSync(`${root}/assets/tinyshakespeare.txt`, "utf8");
  expect(text.length).toBe(1_115_394);
  expect(text.startsWith("First Citizen:\nBefore we proceed any further")).toBe(true);
});
