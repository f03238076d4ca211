// Turns an HTTP failure from the Hub (status, X-Error-Code, network cause) into a HubError with a
// stable code, a message naming the repo/revision/file, and a hint. Classification only: retrying
// is hub-fetch's job.

import { HubError } from "../errors.js";
import type { RepoType } from "./model-ref.js";

/** What a request was for, so errors can say "file X of repo Y at revision Z". */
export interface HubSubject {
  repo: string;
  repoType: RepoType;
  revision: string;
  /** absent for repo-level requests (info, tree) */
  file?: string;
  endpoint: string;
}

export const HUB_ERROR_CODES = {
  badRef: "HUB_BAD_REF",
  repoNotFound: "HUB_REPO_NOT_FOUND",
  revisionNotFound: "HUB_REVISION_NOT_FOUND",
  fileNotFound: "HUB_FILE_NOT_FOUND",
  noMatchingFiles: "HUB_NO_MATCHING_FILES",
  authRequired: "HUB_AUTH_REQUIRED",
  accessDenied: "HUB_ACCESS_DENIED",
  rateLimited: "HUB_RATE_LIMITED",
  serverError: "HUB_SERVER_ERROR",
  httpError: "HUB_HTTP_ERROR",
  network: "HUB_NETWORK",
  interrupted: "HUB_DOWNLOAD_INTERRUPTED",
  checksum: "HUB_CHECKSUM_MISMATCH",
  badResponse: "HUB_BAD_RESPONSE",
  aborted: "HUB_ABORTED",
  offlineMissing: "HUB_OFFLINE_NOT_CACHED",
} as const;

export function describeSubject(s: HubSubject): string {
  const repo = `${s.repoType === "dataset" ? "dataset" : "model"} ${s.repo}`;
  return s.file === undefined ? `${repo} at revision ${s.revision}` : `file "${s.file}" of ${repo} at revision ${s.revision}`;
}

function repoPage(s: HubSubject): string {
  return `${s.endpoint}/${s.repoType === "dataset" ? "datasets/" : ""}${s.repo}`;
}

const TOKEN_HINT =
  "Set HF_TOKEN to a token with read access (https://huggingface.co/settings/tokens) or run `huggingface-cli login`";

/** A non-2xx response after retries (if any) were spent. `detail` is the server's own message. */
export function httpStatusError(status: number, errorCode: string | null, detail: string, s: HubSubject): HubError {
  const what = describeSubject(s);
  const said = detail ? ` (server said: ${detail.slice(0, 200)})` : "";
  const opts = (hint: string) => ({ hint, status });
  if (status === 404 || errorCode === "RepoNotFound" || errorCode === "RevisionNotFound" || errorCode === "EntryNotFound") {
    if (errorCode === "RepoNotFound") {
      return new HubError(HUB_ERROR_CODES.repoNotFound, `Repository ${s.repo} (${s.repoType}) was not found on ${s.endpoint}${said}`, opts(
        `Check the id for typos (it is org/name, e.g. mistralai/Mistral-7B-v0.1)${s.repoType === "model" ? "; for a dataset use datasets/org/name" : ""}. A private repo also looks missing without a token: ${TOKEN_HINT}.`,
      ));
    }
    if (errorCode === "RevisionNotFound") {
      return new HubError(HUB_ERROR_CODES.revisionNotFound, `Revision "${s.revision}" of ${s.repo} was not found${said}`, opts(
        `Check the branch, tag or commit after '@' (see ${repoPage(s)}/tree/main); omit it to use main.`,
      ));
    }
    if (s.file !== undefined) {
      return new HubError(HUB_ERROR_CODES.fileNotFound, `No ${what}${said}`, opts(
        `Check the file name and revision; the repo's files are listed at ${repoPage(s)}/tree/${s.revision}.`,
      ));
    }
    return new HubError(HUB_ERROR_CODES.repoNotFound, `${what} was not found on ${s.endpoint}${said}`, opts(
      `Check the id (org/name) and the revision after '@'. A private repo also looks missing without a token: ${TOKEN_HINT}.`,
    ));
  }
  if (status === 401 || status === 403) {
    const gated = errorCode === "GatedRepo";
    const code = status === 401 ? HUB_ERROR_CODES.authRequired : HUB_ERROR_CODES.accessDenied;
    const msg =
      status === 401
        ? `The Hub refused ${what} without valid credentials (HTTP 401${gated ? ", gated repo" : ""})${said}`
        : `Access to ${what} is denied for this token (HTTP 403${gated ? ", gated repo" : ""})${said}`;
    return new HubError(code, msg, opts(
      `${s.repo} is gated or private. ${TOKEN_HINT}, and accept the license on ${repoPage(s)} with the same account.`,
    ));
  }
  if (status === 429) {
    return new HubError(HUB_ERROR_CODES.rateLimited, `The Hub rate-limited requests for ${what} (HTTP 429) and retries ran out${said}`, opts(
      `Wait a few minutes and run again (already-downloaded files are kept). Authenticated requests get higher limits: ${TOKEN_HINT}.`,
    ));
  }
  if (status >= 500) {
    return new HubError(HUB_ERROR_CODES.serverError, `The Hub answered HTTP ${status} for ${what} and retries ran out${said}`, opts(
      `This is on the server's side; try again later (finished files are kept and partial ones resume). Status: https://status.huggingface.co`,
    ));
  }
  return new HubError(HUB_ERROR_CODES.httpError, `Unexpected HTTP ${status} for ${what}${said}`, opts(
    `Check HF_ENDPOINT (now ${s.endpoint}) points at a Hugging Face Hub or a compatible mirror.`,
  ));
}

/** Node's fetch rejects with TypeError("fetch failed") and the socket error as `cause`. */
export function networkErrorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur instanceof Error; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string") return code;
    cur = cur.cause;
  }
  return undefined;
}

export function networkError(e: unknown, s: HubSubject, timedOut: boolean): HubError {
  const code = timedOut ? "timeout" : (networkErrorCode(e) ?? (e instanceof Error ? e.message : String(e)));
  return new HubError(HUB_ERROR_CODES.network, `Could not reach ${s.endpoint} for ${describeSubject(s)} (${code})`, {
    cause: e,
    hint:
      `Check the network connection${code === "ENOTFOUND" ? " and the host name" : ""}. HF_ENDPOINT selects the server (now ${s.endpoint}); ` +
      `to use only files already in the cache, set HF_HUB_OFFLINE=1.`,
  });
}
