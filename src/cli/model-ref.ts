// Model references on the command line: a local path, or a Hub id `org/name[@revision]` that is
// downloaded into the HF cache first (with progress), then opened from its snapshot directory.

import { resolve } from "node:path";
import { openCheckpoint, type Checkpoint } from "../checkpoint/open-checkpoint.js";
import { HubError } from "../errors.js";
import { resolveModelDir, type HubEvent } from "../hub/index.js";
import { makeProgress } from "./progress.js";

/**
 * What a model download fetches: weights, configs and tokenizer files. A predicate, not a list of
 * names, because named files must exist in the repo and most repos lack some of these.
 */
const MODEL_FILE = /(^|\/)([^/]+\.safetensors|[^/]+\.json|tokenizer\.model|[^/]+\.jinja|merges\.txt)$/;
export const MODEL_FILES = (path: string): boolean => MODEL_FILE.test(path);

export async function localModelPath(ref: string, options: { quiet?: boolean } = {}): Promise<string> {
  // A name ending in .gguf is always a file, even without ./ (never a Hub id to download), as
  // in the runtime's resolveGgufPath: `dusk inspect org/typo.gguf` says the file is missing.
  if (/\.gguf$/i.test(ref)) return resolve(ref);
  const progress = makeProgress({ quiet: options.quiet ?? false });
  let finished = 0; // bytes of files already done
  const onEvent = (e: HubEvent) => {
    if (e.type === "resolved") progress.start(`download ${ref}`, e.total, "bytes");
    else if (e.type === "progress") progress.update(finished + e.bytes, e.file);
    else if (e.type === "file-done") progress.update((finished += e.total), e.file);
  };
  try {
    return await resolveModelDir(ref, { files: MODEL_FILES, onEvent });
  } catch (e) {
    // `org/name` is read as a Hub id only because no such local path exists: say so too.
    if (e instanceof HubError) {
      throw new HubError(e.code, e.message, { hint: `${e.hint ?? ""}${e.hint ? " " : ""}(There is no local file or directory named ${ref} either.)`, cause: e, ...(e.status === undefined ? {} : { status: e.status }) });
    }
    throw e;
  } finally {
    progress.stop();
  }
}

/** Opens a local path or a downloaded Hub model; the checkpoint keeps `ref` as the user wrote it. */
export async function openModelRef(ref: string, options: { quiet?: boolean } = {}): Promise<Checkpoint> {
  return openCheckpoint(await localModelPath(ref, options), ref);
}
