// Bounded reads of the JSON side files of a checkpoint (config.json, index, tokenizer_config):
// a size limit before reading, and parse errors that name the file and the line:col.

import { readFile, stat } from "node:fs/promises";
import { FormatError } from "../errors.js";
import { LIMITS } from "../limits.js";

export async function readJsonFile(path: string, limit: number = LIMITS.jsonFileBytes): Promise<unknown> {
  return parseJsonText(await readTextFile(path, limit), path);
}

/** A side file's text, refused before reading when it is larger than `limit`. */
export async function readTextFile(path: string, limit: number = LIMITS.jsonFileBytes): Promise<string> {
  await checkSideFileSize(path, limit);
  return readFile(path, "utf8");
}

/** Refuses a side file (config, index, tokenizer) larger than `limit` before anything reads it. */
export async function checkSideFileSize(path: string, limit: number = LIMITS.jsonFileBytes): Promise<void> {
  const st = await stat(path);
  if (st.size > limit) {
    throw new FormatError("json.too-large", "side file is larger than dusk accepts", {
      file: path, expected: `at most ${limit} bytes`, actual: `${st.size} bytes`,
      hint: "this does not look like a config or tokenizer file; check the path",
    });
  }
}

export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec(String((e as Error).message));
    const pos = m ? Number(m[1]) : undefined;
    const lineCol = pos === undefined ? "" : (() => {
      const before = text.slice(0, pos);
      const line = before.split("\n").length;
      return ` at ${line}:${pos - before.lastIndexOf("\n")}`;
    })();
    throw new FormatError("json.syntax", `invalid JSON${lineCol}: ${(e as Error).message}`, {
      file, offset: pos, hint: "the file is corrupt or truncated; download it again", cause: e,
    });
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
