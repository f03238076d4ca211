// Downloads one file into blobs/<etag> through blobs/<etag>.incomplete, resuming an interrupted
// partial file with an HTTP Range request and verifying the bytes against the etag (sha256 for
// LFS files, git blob sha1 otherwise) before the rename makes the blob visible.
//
// Why not @huggingface/hub's downloadFileToCacheDir: (2.17.5) it streams the whole file in one
// go with no Range resume (a dropped connection restarts from byte 0 and leaves a stale
// .incomplete), emits no progress, has no retries, logs through console.debug, and requires
// tokens to start with "hf_" (mirrors behind HF_ENDPOINT use others). We still use
// @huggingface/hub for the repo info and tree listing (see download-repo.ts).

import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { HubError } from "../errors.js";
import { HUB_ERROR_CODES, describeSubject, type HubSubject } from "./hub-errors.js";
import { backoffDelay, hubRequest, sleep, type HubClient } from "./hub-fetch.js";
import { fileSize, normalizeEtag } from "./cache-layout.js";

export interface BlobRequest {
  url: string;
  /** blobs/<etag> */
  blobPath: string;
  /** 64 hex = sha256 of the content (LFS); 40 hex = git blob sha1 */
  etag: string;
  /** from the listing; the download must produce exactly this many bytes */
  size: number;
  subject: HubSubject;
}

export type BlobProgress =
  | { type: "start"; resumeFrom: number }
  | { type: "bytes"; bytes: number }
  /** the partial file was dropped: server ignored Range, or the content changed */
  | { type: "restart"; reason: string };

/** Emit a progress event at most every this many bytes (plus the last one). */
const PROGRESS_STEP = 1024 * 1024;
/** Fresh restarts (ignored Range, changed etag, 416) before giving up. */
const MAX_RESTARTS = 2;

function contentHasher(etag: string, size: number): Hash {
  if (etag.length === 64) return createHash("sha256");
  // git's blob id: sha1("blob <size>\0" + content)
  return createHash("sha1").update(`blob ${size}\0`);
}

async function hashExisting(path: string, hasher: Hash, length: number): Promise<void> {
  if (length === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1 })) hasher.update(chunk as Buffer);
}

function badResponse(message: string, subject: HubSubject): HubError {
  return new HubError(HUB_ERROR_CODES.badResponse, `${message} for ${describeSubject(subject)}`, {
    hint: `Run again; if it persists, the server at ${subject.endpoint} (HF_ENDPOINT) is not serving this file correctly.`,
  });
}

/** Content-Range: bytes <start>-<end>/<total> */
function parseContentRange(value: string | null): { start: number; total: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value?.trim() ?? "");
  return m ? { start: Number(m[1]), total: Number(m[3]) } : undefined;
}

/** The etag the Hub attached, when the response came from the Hub itself and not a CDN. */
function responseEtag(res: Response, endpoint: string): string | undefined {
  const linked = normalizeEtag(res.headers.get("X-Linked-Etag"));
  if (linked !== undefined) return linked;
  const sameOrigin = res.url === "" || new URL(res.url).origin === new URL(endpoint).origin;
  return sameOrigin ? normalizeEtag(res.headers.get("ETag")) : undefined;
}

export async function* downloadBlob(client: HubClient, req: BlobRequest): AsyncGenerator<BlobProgress, void> {
  const partial = `${req.blobPath}.incomplete`;
  const { subject } = req;
  let restarts = 0;
  let interruptions = 0;
  let announced = false;
  const restart = async (reason: string): Promise<BlobProgress> => {
    await rm(partial, { force: true });
    if (++restarts > MAX_RESTARTS) throw badResponse(`Download kept failing (${reason})`, subject);
    return { type: "restart", reason };
  };

  await mkdir(dirname(partial), { recursive: true });
  for (;;) {
    let offset = (await fileSize(partial)) ?? 0;
    if (offset > req.size) {
      await rm(partial, { force: true });
      offset = 0;
    }
    if (!announced) {
      yield { type: "start", resumeFrom: offset };
      announced = true;
    }
    const hasher = contentHasher(req.etag, req.size);
    let written = offset;
    if (offset < req.size || req.size === 0) {
      const headers: Record<string, string> = { "Accept-Encoding": "identity" };
      if (offset > 0) headers["Range"] = `bytes=${offset}-`;
      const { response, abort, release } = await hubRequest(client, req.url, { headers, passStatuses: [416] }, subject);
      if (response.status === 416) {
        await response.body?.cancel().catch(() => undefined);
        release();
        yield await restart("the server refused the resume range");
        continue;
      }
      let append = false;
      if (offset > 0 && response.status === 206) {
        const range = parseContentRange(response.headers.get("Content-Range"));
        const etag = responseEtag(response, subject.endpoint);
        if (!range || range.start !== offset || range.total !== req.size || (etag !== undefined && etag !== req.etag)) {
          await response.body?.cancel().catch(() => undefined);
          release();
          yield await restart(etag !== undefined && etag !== req.etag ? `the file changed (etag ${etag})` : "the resume range did not match");
          continue;
        }
        append = true;
      } else if (offset > 0) {
        // 200 to a Range request: the server sends everything again, so start the partial over.
        yield { type: "restart", reason: "the server ignored the Range request" };
        written = 0;
      }
      if (append) await hashExisting(partial, hasher, offset);

      const handle = await open(partial, append ? "a" : "w");
      let failure: unknown;
      let idleTimer: NodeJS.Timeout | undefined;
      const armIdle = (): void => {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => abort(new Error(`no data for ${client.idleTimeoutMs} ms`)), client.idleTimeoutMs);
      };
      try {
        const reader = response.body?.getReader();
        let lastReported = written;
        armIdle();
        while (reader) {
          const { done, value } = await reader.read();
          if (done) break;
          armIdle();
          if (written + value.byteLength > req.size) {
            abort(new Error("too many bytes"));
            throw badResponse(`The server sent more than the listed ${req.size} bytes`, subject);
          }
          await handle.write(value);
          hasher.update(value);
          written += value.byteLength;
          if (written - lastReported >= PROGRESS_STEP) {
            lastReported = written;
            yield { type: "bytes", bytes: written };
          }
        }
      } catch (e) {
        if (e instanceof HubError) {
          await rm(partial, { force: true });
          throw e;
        }
        failure = e;
      } finally {
        clearTimeout(idleTimer);
        release();
        await handle.close();
      }
      if (client.signal?.aborted) {
        throw new HubError(HUB_ERROR_CODES.aborted, `Download of ${subject.file ?? subject.repo} was cancelled at ${written} of ${req.size} bytes`, {
          cause: client.signal.reason,
          hint: "Run the same command again: the partial file is kept and the download resumes from there.",
        });
      }
      if (failure !== undefined || written < req.size) {
        // A dropped or stalled connection (or a body shorter than listed): resume from what we have.
        interruptions += 1;
        if (interruptions >= client.retry.attempts) {
          throw new HubError(
            HUB_ERROR_CODES.interrupted,
            `Download of ${describeSubject(subject)} was interrupted at ${written} of ${req.size} bytes`,
            { cause: failure, hint: "Run the same command again: the partial file is kept and the download resumes from there." },
          );
        }
        const delayMs = backoffDelay(client.retry, interruptions - 1);
        client.onRetry?.({ subject, attempt: interruptions, delayMs, reason: `interrupted at ${written} bytes` });
        await sleep(delayMs, client.signal).catch(() => undefined);
        continue;
      }
      yield { type: "bytes", bytes: written };
    } else {
      await hashExisting(partial, hasher, offset);
    }

    const digest = hasher.digest("hex");
    if (digest !== req.etag) {
      await rm(partial, { force: true });
      throw new HubError(HUB_ERROR_CODES.checksum, `The downloaded bytes of ${describeSubject(subject)} do not match its id (expected ${req.etag}, found ${digest})`, {
        hint: "The partial file was deleted; run again to download it afresh. If it repeats, the server or a proxy is altering the file.",
      });
    }
    await rename(partial, req.blobPath);
    return;
  }
}
