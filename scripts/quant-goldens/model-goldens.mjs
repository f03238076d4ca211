// File-level quantization goldens from llama.cpp itself (run by regenerate.sh after `npm run build`):
// - the tiny models of src/fixtures/quant-models.ts as F32 GGUF, quantized by llama-quantize to every
//   type dusk offers, with and without an importance matrix (computed by llama-imatrix, stored in
//   both of its formats): SHA-256 of each output file and of each tensor → models.json;
// - llama-quantize --dry-run's per-tensor types on a 32-layer base and its 48-layer DUS stack (built
//   by dusk, recipe recorded) → stack-types.json, with the tensor lists the tests rebuild them from.
// usage: node model-goldens.mjs LLAMA_BIN_DIR
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const bin = process.argv[2];
if (!bin) throw new Error("usage: node model-goldens.mjs LLAMA_BIN_DIR");
const repo = fileURLToPath(new URL("../..", import.meta.url));
const fixtures = join(repo, "test/fixtures/quant");
const dist = (p) => import(new URL(`../../dist/${p}`, import.meta.url).href);
const { writeQuantGoldenGguf, writeQuantGoldenHf } = await dist("fixtures/quant-models.js");
const { main } = await dist("cli/main.js");
const { parseGguf } = await dist("formats/gguf.js");
const { FileSource } = await dist("formats/byte-source.js");
const { ggufPlain } = await dist("formats/gguf-value.js");

const sha = (b) => createHash("sha256").update(b).digest("hex");
const work = mkdtempSync(join(tmpdir(), "dusk-quant-models-"));
/** Runs a llama.cpp tool from the repo root (imatrix paths are recorded as given); stdout + stderr. */
function run(tool, args) {
  const r = spawnSync(join(bin, tool), args, { cwd: repo, maxBuffer: 64 << 20 });
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`${tool} ${args.join(" ")} failed:\n${out.slice(-4000)}`);
  return out;
}

async function describe(path) {
  const src = await FileSource.open(path);
  try {
    const g = await parseGguf(src);
    const tensors = {};
    for (const t of g.tensors) tensors[t.name] = `${t.type.name} ${sha(await src.read(t.offset, t.byteLength)).slice(0, 16)}`; // enough to name the tensor that differs
    return { sha256: sha(readFileSync(path)), bytes: src.size, tensors };
  } finally {
    await src.close();
  }
}

const PLAIN = ["Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q2_K", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "IQ4_XS", "F16", "BF16"];
const WITH_IMATRIX = ["Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "Q3_K_M", "Q2_K", "Q2_K_S", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "IQ4_XS"];

try {
  // --- byte goldens on k256 and h128
  const text = readFileSync(join(repo, "assets/tinyshakespeare.txt"), "utf8").slice(0, 6000);
  writeFileSync(join(work, "text.txt"), text);
  const models = {};
  for (const name of ["k256", "h128"]) {
    const input = await writeQuantGoldenGguf(name, work);
    const entry = { input: sha(readFileSync(input)), runs: {} };
    const quantize = async (type, imatrix, label) => {
      const out = join(work, `${name}-${label}.gguf`);
      run("llama-quantize", [...(imatrix ? ["--imatrix", imatrix] : []), input, out, type, "2"]);
      entry.runs[label] = await describe(out);
      rmSync(out);
    };
    for (const type of PLAIN) await quantize(type, undefined, type);
    if (name === "k256") {
      // llama-imatrix on the model itself: 8 chunks of 64 tokens of the embedded corpus, both formats
      const common = ["-m", input, "-f", join(work, "text.txt"), "-c", "64", "-b", "64", "--chunks", "8", "-t", "2", "--no-ppl"];
      run("llama-imatrix", [...common, "-o", join(work, "imatrix.gguf")]);
      run("llama-imatrix", [...common, "-o", join(work, "imatrix.dat"), "--output-format", "dat"]);
      copyFileSync(join(work, "imatrix.gguf"), join(fixtures, "k256.imatrix.gguf"));
      copyFileSync(join(work, "imatrix.dat"), join(fixtures, "k256.imatrix.dat"));
      // quantized with the committed copies, named as the tests pass them (quantize.imatrix.file records it)
      for (const type of WITH_IMATRIX) await quantize(type, "test/fixtures/quant/k256.imatrix.gguf", `${type}+imatrix`);
      await quantize("Q4_K_M", "test/fixtures/quant/k256.imatrix.dat", "Q4_K_M+imatrix.dat");
    }
    models[name] = entry;
  }
  writeFileSync(join(fixtures, "models.json"), JSON.stringify({ about: "llama-quantize on src/fixtures/quant-models.ts; scripts/quant-goldens/regenerate.sh", models }, null, 1) + "\n");

  // --- type choices on a 32-layer base and its DUS stack (dry runs: names and shapes are all that matter)
  const base = await writeQuantGoldenGguf("base32", work, "f16");
  const baseHf = join(work, "base32-hf");
  const stack = join(work, "stack48.gguf");
  if ((await main(["build", "--preset", "dus", baseHf, "--drop", "8", "-o", stack, "--type", "f16", "--quiet"])) !== 0) throw new Error("dusk build failed");
  const DRY = ["Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "Q4_0", "IQ4_NL", "IQ4_XS"];
  const stackTypes = { about: "llama-quantize --dry-run; scripts/quant-goldens/regenerate.sh", models: {} };
  for (const [name, path] of [["base32", base], ["stack48", stack]]) {
    const src = await FileSource.open(path);
    const g = await parseGguf(src);
    await src.close();
    const keep = ["general.architecture", "llama.block_count", "llama.attention.head_count", "llama.attention.head_count_kv", "general.dusk.recipe"];
    const kv = Object.fromEntries(keep.filter((k) => g.kv.has(k)).map((k) => [k, ggufPlain(g.kv.get(k))]));
    const m = { kv, tensors: g.tensors.map((t) => [t.name, t.type.name, t.shape]), types: {} };
    for (const type of DRY) {
      const log = run("llama-quantize", ["--dry-run", path, type, "2"]) ;
      const exceptions = {};
      let defaultType;
      for (const line of log.split("\n")) {
        const t = /\]\s+(\S+)\s+- \[.*size =.*->.*\((\w+)\)\s*$/.exec(line);
        if (!t) continue;
        const ty = t[2].toUpperCase();
        exceptions[t[1]] = ty;
      }
      // store the most common type once and only the tensors that differ from it
      const counts = {};
      for (const ty of Object.values(exceptions)) counts[ty] = (counts[ty] ?? 0) + 1;
      defaultType = Object.entries(counts).sort((a, b) => b[1] - a[1])[0][0];
      m.types[type] = { most: defaultType, others: Object.fromEntries(Object.entries(exceptions).filter(([, ty]) => ty !== defaultType)) };
    }
    stackTypes.models[name] = m;
  }
  writeFileSync(join(fixtures, "stack-types.json"), JSON.stringify(stackTypes) + "\n");
} finally {
  rmSync(work, { recursive: true, force: true });
}
