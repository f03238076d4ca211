// Reads a task's split files from a local directory laid out as the Hub has it
// (DIR/<repo>/<dir>/<split>-00000-of-00001.parquet, or a .jsonl/.json with that stem) into rows,
// plus typed field accessors whose errors name the file, row and field.
// Not here: downloading (`dusk data pull` uses `taskDataFiles`), prompt logic.

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, type FileMetaData } from "hyparquet";
import { EvalError, FormatError, type DuskError } from "../errors.js";
import { EVAL_LIMITS } from "../limits.js";
import type { DatasetRow } from "./dataset-row.js";
import type { EvalTask } from "./task.js";

export type { DatasetRow } from "./dataset-row.js";

export interface TaskDataFile {
  task: string;
  split: string;
  /** HF repo id, e.g. "cais/mmlu" */
  repo: string;
  /** path inside the repo, e.g. "abstract_algebra/test-00000-of-00001.parquet" */
  pathInRepo: string;
}

/** The files a task reads: the eval split, plus the shot split when shots are drawn. */
export function taskDataFiles(task: EvalTask<unknown>, shots = task.defaultShots): TaskDataFile[] {
  const dataset = task.dataset;
  if (dataset.kind === "built") return [];
  const splits = [dataset.evalSplit];
  const shotSplit = dataset.shotSplit;
  if (shots > 0 && shotSplit !== undefined && shotSplit !== dataset.evalSplit) splits.push(shotSplit);
  return splits.map((split) => ({
    task: task.name,
    split,
    repo: dataset.repo,
    pathInRepo: `${dataset.dir}/${split}-00000-of-00001.parquet`,
  }));
}

/** Loads one split of a task. Missing file → EvalError with the path and the pull command. */
export async function loadSplit(dataDir: string, task: EvalTask<unknown>, split: string): Promise<DatasetRow[]> {
  const dataset = task.dataset;
  if (dataset.kind === "built") throw new EvalError("EVAL_BUILT_TASK", `${task.name} builds its documents in memory; it has no split files`);
  const stemPath = join(dataDir, dataset.repo, dataset.dir, `${split}-00000-of-00001`);
  const candidates = [".parquet", ".jsonl", ".json"].map((ext) => stemPath + ext);
  for (const file of candidates) {
    const st = await stat(file).catch(() => undefined);
    if (st === undefined || !st.isFile()) continue;
    const rows = file.endsWith(".parquet")
      ? await readParquetRows(file)
      : await readJsonRows(file, st.size, file.endsWith(".jsonl"));
    if (rows.length === 0) {
      throw new EvalError("EVAL_DATASET_EMPTY", `${file}: the ${split} split of ${task.name} has no rows`, {
        hint: `Re-download it: dusk data pull --tasks ${task.group ?? task.name} --to ${dataDir}`,
      });
    }
    return rows;
  }
  throw new EvalError("EVAL_DATASET_MISSING", `${task.name}: no ${split} split at ${candidates[0]} (nor .jsonl/.json beside it)`, {
    hint: `Fetch it with: dusk data pull --tasks ${task.group ?? task.name} --to ${dataDir}`,
  });
}

async function readParquetRows(file: string): Promise<DatasetRow[]> {
  let objects: Record<string, unknown>[];
  let metadata: FileMetaData;
  try {
    const buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
    const numRows = Number(metadata.num_rows);
    if (!(numRows >= 0 && numRows <= EVAL_LIMITS.datasetRows)) {
      throw new FormatError("EVAL_DATASET_TOO_LARGE", "too many rows", {
        file,
        field: "num_rows",
        expected: `≤ ${EVAL_LIMITS.datasetRows}`,
        actual: String(metadata.num_rows),
      });
    }
    // Snappy is built into hyparquet; other codecs (zstd, gzip) would need hyparquet-compressors.
    objects = (await parquetReadObjects({ file: buffer, metadata })) as Record<string, unknown>[];
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError("EVAL_DATASET_PARQUET", "cannot read parquet", {
      file,
      actual: e instanceof Error ? e.message : String(e),
      hint: "Is it a complete download? Delete it and run `dusk data pull` again.",
      cause: e,
    });
  }
  const columns = columnPaths(metadata);
  return objects.map((value, index) => ({ file, index, value, columns }));
}

/** The column paths of a parquet schema, descending into structs but not into lists or maps. */
function columnPaths(metadata: FileMetaData): Map<string, "group" | "leaf"> {
  const out = new Map<string, "group" | "leaf">();
  const walk = (node: ReturnType<typeof parquetSchema>, prefix: string): void => {
    for (const child of node.children) {
      const path = prefix + child.element.name;
      const el = child.element;
      const opaque = el.converted_type === "LIST" || el.converted_type === "MAP" || el.converted_type === "MAP_KEY_VALUE" || el.logical_type?.type === "LIST" || el.logical_type?.type === "MAP";
      const isGroup = child.children.length > 0 && !opaque && el.repetition_type !== "REPEATED";
      out.set(path, isGroup ? "group" : "leaf");
      if (isGroup) walk(child, path + ".");
    }
  };
  walk(parquetSchema(metadata), "");
  return out;
}

async function readJsonRows(file: string, size: number, lines: boolean): Promise<DatasetRow[]> {
  if (size > EVAL_LIMITS.datasetFileBytes) {
    throw new FormatError("EVAL_DATASET_TOO_LARGE", "file too large", {
      file,
      expected: `≤ ${EVAL_LIMITS.datasetFileBytes} bytes`,
      actual: `${size} bytes`,
    });
  }
  const text = await readFile(file, "utf8");
  const values: unknown[] = [];
  if (lines) {
    let offset = 0;
    for (const line of text.split("\n")) {
      const lineOffset = offset;
      offset += Buffer.byteLength(line, "utf8") + 1;
      if (line.trim() === "") continue;
      try {
        values.push(JSON.parse(line));
      } catch (e) {
        throw new FormatError("EVAL_DATASET_JSON", "a line is not valid JSON", {
          file,
          offset: lineOffset,
          actual: e instanceof Error ? e.message : String(e),
          hint: "Each line of a .jsonl file must be one JSON object.",
        });
      }
      if (values.length > EVAL_LIMITS.datasetRows) break;
    }
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new FormatError("EVAL_DATASET_JSON", "not valid JSON", { file, actual: e instanceof Error ? e.message : String(e) });
    }
    if (!Array.isArray(parsed)) {
      throw new FormatError("EVAL_DATASET_JSON", "expected an array of rows", { file, expected: "array", actual: typeOf(parsed) });
    }
    values.push(...(parsed as unknown[]));
  }
  if (values.length > EVAL_LIMITS.datasetRows) {
    throw new FormatError("EVAL_DATASET_TOO_LARGE", "too many rows", { file, expected: `≤ ${EVAL_LIMITS.datasetRows}` });
  }
  return values.map((value, index) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new FormatError("EVAL_DATASET_ROW", "a row is not an object", { file, field: `row ${index}`, expected: "object", actual: typeOf(value) });
    }
    return { file, index, value: value as Record<string, unknown> };
  });
}

function typeOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function fieldError(row: DatasetRow, path: string, expected: string, actual: unknown): DuskError {
  const missing = row.columns === undefined ? undefined : missingColumn(row.columns, path);
  if (missing !== undefined) {
    const present = [...row.columns!.keys()].filter((c) => !c.includes(".") || missing.includes("."));
    const listed = present.length > 20 ? [...present.slice(0, 20), `… ${present.length - 20} more`] : present;
    return new EvalError("EVAL_DATASET_COLUMN", `${row.file}: the file has no column "${missing}" (needed for ${path}; it has ${listed.join(", ")})`, {
      hint: "The file does not have the dataset's schema; was it downloaded from the right repo and config? Pull it again with `dusk data pull`.",
    });
  }
  return new FormatError("EVAL_DATASET_FIELD", "missing or mistyped field", {
    file: row.file,
    field: `row ${row.index}: ${path}`,
    expected,
    actual: actual === undefined ? "nothing" : typeOf(actual),
    hint: "The file does not have the dataset's schema; was it downloaded from the right repo and config?",
  });
}

/** The first prefix of a dotted field path that the file's schema lacks, if any. */
function missingColumn(columns: ReadonlyMap<string, "group" | "leaf">, path: string): string | undefined {
  const parts = path.split(".");
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join(".");
    const kind = columns.get(prefix);
    if (kind === undefined) return prefix;
    if (kind === "leaf") return undefined;
  }
  return undefined;
}

/** Own-property lookup, so keys like `__proto__` stay plain keys. */
function lookup(obj: unknown, key: string): unknown {
  if (typeof obj !== "object" || obj === null) return undefined;
  return Object.prototype.hasOwnProperty.call(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

/** Walks a dotted path such as "choices.text". */
function at(row: DatasetRow, path: string): unknown {
  let v: unknown = row.value;
  for (const key of path.split(".")) v = lookup(v, key);
  return v;
}

export function stringField(row: DatasetRow, path: string): string {
  const v = at(row, path);
  if (typeof v !== "string") throw fieldError(row, path, "string", v);
  return v;
}

export function stringListField(row: DatasetRow, path: string): string[] {
  const v = at(row, path);
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw fieldError(row, path, "list of strings", v);
  return v as string[];
}

/** Integers arrive as number, bigint (parquet int64) or a numeric string (HellaSwag's label). */
export function intField(row: DatasetRow, path: string): number {
  const v = at(row, path);
  const n = typeof v === "bigint" ? Number(v) : typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n)) throw fieldError(row, path, "integer", v);
  return n;
}

export function intListField(row: DatasetRow, path: string): number[] {
  const v = at(row, path);
  if (!Array.isArray(v)) throw fieldError(row, path, "list of integers", v);
  return v.map((x, i) => {
    const n = typeof x === "bigint" ? Number(x) : x;
    if (typeof n !== "number" || !Number.isSafeInteger(n)) throw fieldError(row, `${path}[${i}]`, "integer", x);
    return n;
  });
}

/** A value check that failed after the types were right (a gold label not among the choices). */
export function invalidValue(row: DatasetRow, path: string, expected: string, actual: string): FormatError {
  return new FormatError("EVAL_DATASET_VALUE", "unexpected value", { file: row.file, field: `row ${row.index}: ${path}`, expected, actual });
}
