import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fillTemplate, launchServer } from "./launch-server.js";

const dir = mkdtempSync(join(tmpdir(), "dusk-launch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A stand-in model server: answers /v1/models after a delay, writes its pid, ignores nothing.
const script = join(dir, "it's a server.mjs");
writeFileSync(
  script,
  `import { createServer } from "node:http";
import { writeFileSync } from "node:fs";
const [port, name, pidFile] = process.argv.slice(2);
writeFileSync(pidFile, String(process.pid));
setTimeout(() => createServer((req, res) => {
  if (req.url === "/v1/models") return void res.end(JSON.stringify({ object: "list", data: [{ id: name }] }));
  res.statusCode = 404; res.end();
}).listen(Number(port), "127.0.0.1"), 300);
`,
);

/** Running (a zombie left to an init that does not reap counts as gone). */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]![0] !== "Z";
  } catch {
    return false;
  }
};

describe("fillTemplate", () => {
  it("shell-quotes every value, quotes and spaces included", () => {
    const line = fillTemplate("serve {model} --port {port}", { model: "/m/it's here", port: "81" });
    expect(line).toBe(`serve '/m/it'\\''s here' --port '81'`);
    expect(execFileSync("/bin/sh", ["-c", `printf '%s|' ${line.slice("serve ".length)}`], { encoding: "utf8" })).toBe("/m/it's here|--port|81|");
  });
  it("needs {port} and refuses unknown placeholders", () => {
    expect(() => fillTemplate("vllm serve {model}", { model: "x" })).toThrow(/has no \{port\}/);
    expect(() => fillTemplate("serve {weights} --port {port}", { model: "x", port: "1" })).toThrow(/\{weights\}, which is not one of \{model\}, \{port\}/);
  });
});

describe("launchServer", () => {
  it("waits for /v1/models, takes the model's name from it, and stops the whole process group", async () => {
    const pidFile = join(dir, "pid");
    const s = await launchServer({ template: `${process.execPath} {script} {port} {name} {pid}`, vars: { script, name: "idus-1", pid: pidFile } });
    expect(s.model).toBe("idus-1");
    const res = await fetch(`${s.baseUrl}/models`);
    expect(res.status).toBe(200);
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(alive(pid)).toBe(true);
    await s.stop();
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
  });
  it("reports a server that exits, with its output, and one that never answers", async () => {
    await expect(launchServer({ template: "echo cannot load {name} >&2; exit 1 # {port}", vars: { name: "x.gguf" } })).rejects.toThrow(/exited before it answered[\s\S]*cannot load x\.gguf/);
    await expect(launchServer({ template: "sleep 30 # {port}", vars: {}, readyTimeoutMs: 600 })).rejects.toThrow(/did not answer .* within 1 s/);
  });
});
