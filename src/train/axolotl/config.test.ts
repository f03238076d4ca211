// Every key the exported config holds, recursively, must be an option of the axolotl version it is
// written for, with a value of the type that version's schema states: checked against the option
// list extracted from axolotl's pydantic schema at that tag (test/fixtures/axolotl/, provenance
// inside; scripts/axolotl-config-keys.py made it). Also: the YAML text is what the value says, and
// its numbers read as numbers under PyYAML's YAML 1.1 rules (axolotl loads configs with PyYAML).

import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { AXOLOTL, type CorpusRef } from "./config.js";
import { axolotlJob } from "./job.js";
import { stackInfoFromConfig } from "./stack-info.js";
import type { TrainSelection } from "./unfrozen.js";

type TypeAlt = string | { list: TypeAlt[] } | { literal: unknown[] } | { model: string } | { enum: string } | { ref: string };
interface FieldInfo {
  type: TypeAlt[];
  aliases?: string[];
  deprecated?: boolean;
}
interface KeyFixture {
  provenance: { repo: string; tag: string; commit: string; version: string; deepspeedConfigs: string[] };
  root: string;
  models: Record<string, Record<string, FieldInfo>>;
  omittedModels: string[];
  enums: Record<string, unknown[]>;
}

const FIXTURE = JSON.parse(readFileSync(new URL(`../../../test/fixtures/axolotl/${AXOLOTL.tag}-config-keys.json`, import.meta.url), "utf8")) as KeyFixture;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Problems with `value` as an instance of schema model `model`, each naming its key path. */
function schemaProblems(value: unknown, model: string, path = ""): string[] {
  const fields = FIXTURE.models[model];
  if (!fields) return [`${path || "<root>"}: ${model} was left out of the fixture; extract again naming it (scripts/axolotl-config-keys.py)`];
  if (!isObject(value)) return [`${path || "<root>"}: expected a mapping for ${model}`];
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    const field = fields[key] ?? Object.values(fields).find((f) => f.aliases?.includes(key));
    if (!field) {
      problems.push(`${at}: not an option of ${model} in axolotl ${FIXTURE.provenance.version}`);
      continue;
    }
    if (field.deprecated) problems.push(`${at}: deprecated in axolotl ${FIXTURE.provenance.version}`);
    if (!field.type.some((t) => typeProblems(v, t, at).length === 0)) problems.push(`${at}: ${JSON.stringify(v)} is not ${JSON.stringify(field.type)}`);
  }
  return problems;
}

function typeProblems(v: unknown, t: TypeAlt, at: string): string[] {
  const ok = (b: boolean) => (b ? [] : [`${at}: mismatch`]);
  if (typeof t === "string") {
    switch (t) {
      case "string": return ok(typeof v === "string");
      case "integer": return ok(Number.isSafeInteger(v));
      case "number": return ok(typeof v === "number" && Number.isFinite(v));
      case "boolean": return ok(typeof v === "boolean");
      case "null": return ok(v === null);
      case "object": return ok(isObject(v));
      default: return []; // "any"
    }
  }
  if ("list" in t) return Array.isArray(v) ? v.flatMap((x, i) => (t.list.some((u) => typeProblems(x, u, `${at}[${i}]`).length === 0) ? [] : [`${at}[${i}]: mismatch`])) : [`${at}: not a list`];
  if ("literal" in t) return ok(t.literal.includes(v));
  if ("enum" in t) return ok((FIXTURE.enums[t.enum] ?? []).includes(v));
  if ("model" in t) return schemaProblems(v, t.model, at);
  return []; // a type from outside axolotl's schema package
}

const SOLAR_CONFIG = {
  architectures: ["MistralForCausalLM"], model_type: "mistral", vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336,
  num_hidden_layers: 48, num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 32768, rms_norm_eps: 1e-5,
  rope_theta: 10000, tie_word_embeddings: false, torch_dtype: "bfloat16",
};
const solar = stackInfoFromConfig("./solar-dus", SOLAR_CONFIG, { layout: "0..23, 8..31" });
const corpora: Record<string, CorpusRef> = {
  "pretraining, local file": { kind: "pretraining_dataset", files: ["/data/corpus.txt"] },
  "pretraining, Hub": { kind: "pretraining_dataset", hub: { id: "HuggingFaceFW/fineweb-edu", name: "sample-10BT" } },
  "completion, local files": { kind: "completion", files: ["/data/a.txt", "/data/b.txt"] },
  "completion, Hub": { kind: "completion", hub: { id: "roneneldan/TinyStories", split: "train", textColumn: "text" } },
};
const selections: Record<string, TrainSelection> = {
  all: { layers: "all", includeEmbed: true, includeHead: true },
  seams: { layers: [22, 23, 24, 25], includeEmbed: false, includeHead: false },
  "layers + embed + head": { layers: [0, 47], includeEmbed: true, includeHead: true },
  "head only": { layers: [], includeEmbed: false, includeHead: true },
};

describe(`the exported config against axolotl ${AXOLOTL.version}'s options`, () => {
  it("the fixture is the schema of the version the config names", () => {
    expect(FIXTURE.provenance).toMatchObject({ repo: AXOLOTL.repo, tag: AXOLOTL.tag, commit: AXOLOTL.commit, version: AXOLOTL.version });
    expect(FIXTURE.provenance.deepspeedConfigs).toContain(AXOLOTL.zero3Config);
    expect(Object.keys(FIXTURE.models[FIXTURE.root]!).length).toBeGreaterThan(300);
  });

  for (const [corpusName, corpus] of Object.entries(corpora)) {
    for (const [selName, train] of Object.entries(selections)) {
      it(`${corpusName}; trains ${selName}: every key is an option, every value of its type`, () => {
        const job = axolotlJob({ stack: solar, train, corpus, tokens: 2e9, seqLen: 4096, lr: 2e-5 });
        const fromText = parse(job.files["config.yml"]) as Record<string, unknown>;
        expect(fromText).toEqual(job.config);
        expect(schemaProblems(fromText, FIXTURE.root)).toEqual([]);
        expect(fromText.deepspeed).toBe(AXOLOTL.zero3Config);
        expect("unfrozen_parameters" in fromText).toBe(selName !== "all");
      });
    }
  }

  it("the checker is not vacuous: a misspelt key, a wrong type, a deprecated option and a bad nested key are caught", () => {
    expect(schemaProblems({ learning_rte: 1e-5 }, FIXTURE.root)).toEqual([`learning_rte: not an option of AxolotlInputConfig in axolotl ${AXOLOTL.version}`]);
    expect(schemaProblems({ sequence_len: "4096" }, FIXTURE.root)[0]).toMatch(/^sequence_len: "4096" is not/);
    expect(schemaProblems({ fsdp: ["full_shard"] }, FIXTURE.root)).toEqual([`fsdp: deprecated in axolotl ${AXOLOTL.version}`]);
    expect(schemaProblems({ pretraining_dataset: [{ path: "x", textcolumn: "t" }] }, FIXTURE.root)[0]).toMatch(/^pretraining_dataset: /);
    expect(schemaProblems({ bf16: "yes" }, FIXTURE.root)[0]).toMatch(/^bf16: /);
    expect(schemaProblems({ model_type: "AutoModelForCausalLM" }, FIXTURE.root)).toEqual([]); // an alias
  });

  it("numbers are written so PyYAML (YAML 1.1) reads them as numbers", () => {
    const job = axolotlJob({ stack: solar, train: selections.seams!, corpus: corpora["pretraining, local file"]!, tokens: 2e9, seqLen: 4096, lr: 3e-7 });
    const yaml11Int = /^[-+]?(0|[1-9][0-9_]*)$/;
    const yaml11Float = /^[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?$/;
    const numbers = job.files["config.yml"].split("\n").map((l) => /^\s*(?:- )?[\w-]+: (\S+)$/.exec(l)?.[1]).filter((v) => v !== undefined && !Number.isNaN(Number(v)));
    expect(numbers.length).toBeGreaterThan(10);
    for (const n of numbers) expect(yaml11Int.test(n!) || yaml11Float.test(n!), n).toBe(true);
    expect(job.files["config.yml"]).toMatch(/^learning_rate: 3\.0e-07$/m);
    expect(job.files["config.yml"]).toMatch(/^adam_epsilon: 1\.0e-08$/m);
  });
});
