// `dusk study [--quick] [-o DIR] [--bases A,B] [--json]`: when does interlocking hurt? The DUS /
// iDUS-g / iDUS-1 penalties before healing against training length (every checkpoint of each base),
// depth (the bases) and overlap m, with bootstrap intervals, plus the layout predictor's validation.
// Writes a report directory atomically: report.md, results.json, one chart per factor (SVG and PNG).

import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { basename, join, resolve } from "node:path";
import { defineCommand } from "citty";
import { defaultTexts, shortenTexts } from "../experiment/texts.js";
import { NAMED_BASES, namedBase } from "../fixtures/default-model.js";
import { studyCharts } from "../study/charts.js";
import { studyFindings } from "../study/findings.js";
import { BOOTSTRAP_CONFIDENCE, BOOTSTRAP_SEED, STUDY_CTX, STUDY_MODES, type StudyMode } from "../study/modes.js";
import { depthTable, renderStudyReport } from "../study/report.js";
import { STUDY_RESULTS_VERSION, type StudyResults } from "../study/results.js";
import { FormatError } from "../errors.js";
import { runStudy, type StudyBaseInput, type StudyEvent } from "../study/run-study.js";
import { makeProgress } from "./progress.js";
import { intFlag } from "./train-common.js";
import { UsageError } from "./flag-check.js";
import { VERSION } from "./version.js";
import { labelledProgress, prepareReportOutput, textTable, writeCharts, writeResults } from "./report-output.js";

const DEFAULT_BASES = "seed-scale,seed-scale-16";

export const studyCommand = defineCommand({
  meta: { name: "study", description: "When does interlocking hurt? DUS / iDUS-g / iDUS-1 penalties before healing vs training length, depth and overlap m, with bootstrap intervals, and the layout predictor's validation (default: the shipped seed-scale bases)" },
  args: {
    quick: { type: "boolean", description: "the same factors in about 5 minutes: a shorter test text, fewer bootstrap resamples" },
    output: { type: "string", alias: "o", description: "report directory (default ./dusk-study; an earlier report there is replaced)", valueHint: "dir" },
    force: { type: "boolean", description: "replace an existing -o that is not an earlier report" },
    bases: { type: "string", description: `bases to compare, comma-separated: shipped names (${Object.keys(NAMED_BASES).join(", ")}) or HF directories, each with its checkpoints/step-N/ folders (default ${DEFAULT_BASES})`, valueHint: "list" },
    "test-chars": { type: "string", description: "characters of held-out test text to measure on (default: full 8000, quick 1200)", valueHint: "N" },
    from: { type: "string", description: "write the report and charts again from an earlier results.json (no measuring), e.g. after upgrading dusk", valueHint: "results.json" },
    "skip-predictor": { type: "boolean", description: "measure the factors only, without validating the layout predictor" },
    workers: { type: "string", description: "worker threads, one job (a checkpoint, a predictor validation) each (default: one per core; 0: this thread)", valueHint: "N" },
    json: { type: "boolean", description: "print results.json" },
    quiet: { type: "boolean", description: "no progress output" },
  },
  async run({ args }) {
    const mode: StudyMode = args.quick ? "quick" : "full";
    const preset = STUDY_MODES[mode];
    if (args.from) return rerender(resolve(args.from), resolve(args.output ?? "dusk-study"), args.output ?? "dusk-study", Boolean(args.force), Boolean(args.json));
    const bases = parseBases(args.bases ?? DEFAULT_BASES);
    const workers = intFlag(args.workers, "--workers", 0) ?? availableParallelism();
    const testChars = intFlag(args["test-chars"], "--test-chars", 200) ?? preset.testChars;
    const full = defaultTexts();
    const texts = shortenTexts(full, { calibration: Number.POSITIVE_INFINITY, test: testChars });
    const out = resolve(args.output ?? "dusk-study");
    const quiet = Boolean(args.quiet || args.json);
    const progress = labelledProgress(makeProgress({ quiet }));
    const say = (s: string) => void (!quiet && process.stderr.write(s));
    const output = await prepareReportOutput(out, bases.map((b) => resolve(b.path)), { force: Boolean(args.force), purpose: "dusk study", label: args.output ?? "dusk-study", say });
    const onEvent = (e: StudyEvent) => {
      if (e.type === "phase") {
        progress.stop();
        say(`[study] ${e.what}\n`);
      } else if (e.type === "progress") {
        progress.update(e.label, e.done, e.total, e.detail);
      }
    };
    const command = ["dusk study", ...(args.quick ? ["--quick"] : []), ...(args.bases ? [`--bases ${args.bases}`] : []), ...(args["test-chars"] ? [`--test-chars ${testChars}`] : []), ...(args["skip-predictor"] ? ["--skip-predictor"] : []), `-o ${args.output ?? "dusk-study"}`].join(" ");
    try {
      const results = await runStudy({
        bases, mode, workers, predictor: !args["skip-predictor"], ctx: STUDY_CTX, stride: STUDY_CTX, version: VERSION, command,
        texts: { source: full.source, test: texts.test, testStart: full.split[1], calibration: texts.calibration, calibrationStart: full.split[0] },
        bootstrap: { samples: preset.bootstrapSamples, seed: BOOTSTRAP_SEED, confidence: BOOTSTRAP_CONFIDENCE },
        onEvent,
      });
      progress.stop();
      const t = performance.now();
      const charts = studyCharts(results);
      await writeCharts(output.tmpPath, charts);
      results.timings.report = (performance.now() - t) / 1000;
      results.timings.total += results.timings.report;
      await writeResults(output.tmpPath, results, renderStudyReport(results, charts));
      await output.commit();
      printSummary(results, out, Boolean(args.json));
    } catch (e) {
      progress.stop();
      await output.abort();
      throw output.failure(e);
    }
  },
});

function printSummary(results: StudyResults, out: string, json: boolean): void {
  if (json) return void process.stdout.write(JSON.stringify(results, null, 2) + "\n");
  const { header, rows } = depthTable(results);
  process.stdout.write(`\n${textTable(header, rows)}\n`);
  for (const f of studyFindings(results)) process.stdout.write(`- ${f.text}\n`);
  process.stdout.write(`\nreport: ${join(out, "report.md")} (${results.mode} mode, ${results.timings.total.toFixed(0)} s)\n`);
}

/** `--from results.json`: the same report directory from the same numbers, written anew. */
async function rerender(from: string, out: string, label: string, force: boolean, json: boolean): Promise<void> {
  const text = await readFile(from, "utf8");
  let results: StudyResults;
  try {
    results = JSON.parse(text) as StudyResults;
  } catch (e) {
    throw new FormatError("STUDY_RESULTS", "not JSON", { file: from, hint: "give the results.json a dusk study wrote", cause: e });
  }
  if (results?.version !== STUDY_RESULTS_VERSION || !Array.isArray(results.runs) || !Array.isArray(results.bases) || !Array.isArray(results.predictor)) {
    throw new FormatError("STUDY_RESULTS", "not the results of this version of dusk study", { file: from, field: "version", expected: String(STUDY_RESULTS_VERSION), actual: String(results?.version), hint: "run dusk study again" });
  }
  const output = await prepareReportOutput(out, [from], { force, purpose: "dusk study", label });
  try {
    const charts = studyCharts(results);
    await writeCharts(output.tmpPath, charts);
    await writeResults(output.tmpPath, results, renderStudyReport(results, charts));
    await output.commit();
  } catch (e) {
    await output.abort();
    throw output.failure(e);
  }
  printSummary(results, out, json);
}

/** "seed-scale,./my-base" → named bases resolved to the shipped folders, paths as given. */
function parseBases(list: string): StudyBaseInput[] {
  const items = list.split(",").map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError("usage.bases", "--bases needs at least one base", { hint: `e.g. --bases ${DEFAULT_BASES}` });
  const seen = new Set<string>();
  return items.map((item) => {
    const named = namedBase(item);
    const name = named ? item : basename(resolve(item));
    if (seen.has(name)) throw new UsageError("usage.bases", `--bases names ${name} twice`, { hint: "give each base once" });
    seen.add(name);
    // a shipped base is shown as the package's own path (results.json is committed under docs/)
    return { name, path: named ?? item, shown: named ? `assets/${basename(named)}` : item };
  });
}
