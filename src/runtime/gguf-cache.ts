// HF model directories → a cached f16 GGUF that llama.cpp can load: converted once into
// `$DUSK_CACHE/gguf/` (default ~/.cache/dusk/gguf/), keyed by the directory's absolute path and
// each file's name, size and mtime, so an unchanged source is reused and a changed one is
// re-converted. Not the converter (src/convert) and not Hub downloads (src/hub).

import { createHash } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { waitForWriter } from "../build/atomic-output.js";
import type { BuildEvent } from "../build/events.js";
import { OUTPUT_ERROR_CODES } from "../build/output-errors.js";
import { BuildError } from "../errors.js";
import { openCheckpoint } from "../checkpoint/open-checkpoint.js";
import { convertCheckpoint } from "../convert/convert-checkpoint.js";

/** Bump when the converter's output changes, so old cache entries are not reused. */
const CACHE_FORMAT = "dusk-gguf-cache-v2";
const CACHE_TYPE = "f16";

export function defaultCacheDir(): string {
  const root = process.env.DUSK_CACHE || join(homedir(), ".cache", "dusk");
  return join(root, "gguf");
}

/** sha256 of (format, abs path, [name, size, mtime] of every regular file, sorted by name). */
export async function sourceFingerprint(dir: string): Promise<string> {
  const abs = resolve(dir);
  const hash = createHash("sha256").update(`${CACHE_FORMAT}\0${CACHE_TYPE}\0${abs}\0`);
  const names = (await readdir(abs)).sort();
  for (const name of names) {
    const st = await stat(join(abs, name));
    if (!st.isFile()) continue;
    hash.update(`${name}\0${st.size}\0${st.mtimeMs}\0`);
  }
  return hash.digest("hex");
}

export interface CachedGguf {
  path: string;
  /** true when this call converted it, false when an earlier conversion was reused */
  converted: boolean;
}

/** The cached GGUF for an HF directory, converting it (atomically) when absent or stale. */
export async function cachedGguf(dir: string, o: { cacheDir?: string; onEvent?: (e: BuildEvent) => void; signal?: AbortSignal } = {}): Promise<CachedGguf> {
  const path = join(o.cacheDir ?? defaultCacheDir(), `${await sourceFingerprint(dir)}.gguf`);
  for (;;) {
    if (await stat(path).then((s) => s.isFile(), () => false)) return { path, converted: false };
    const checkpoint = await openCheckpoint(dir);
    try {
      // force: an entry may appear between the check above and the rename; either is the same file.
      for await (const e of convertCheckpoint(checkpoint, { output: path, type: CACHE_TYPE, force: true, purpose: "dusk (GGUF cache)", ...(o.signal ? { signal: o.signal } : {}) })) o.onEvent?.(e);
      return { path, converted: true };
    } catch (e) {
      // Another process is converting the same source right now: use its result when it is done.
      if (!(e instanceof BuildError && e.code === OUTPUT_ERROR_CODES.busy)) throw e;
      if ((await waitForWriter(path, o.signal ? { signal: o.signal } : {})) === "elsewhere") throw e;
    } finally {
      await checkpoint.close();
    }
  }
}
