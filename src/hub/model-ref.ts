// Model and dataset references as the user types them: a local path, or a Hub id
// `org/name[@revision]` (with an optional `datasets/` prefix). Pure string rules plus one
// existence check; it does not touch the network or the cache.

import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { HubError } from "../errors.js";

export type RepoType = "model" | "dataset";

export interface LocalRef {
  kind: "local";
  /** absolute path, `~` expanded */
  path: string;
}

export interface HubRef {
  kind: "hub";
  /** "org/name" */
  repo: string;
  /** branch, tag or 40-hex commit; absent means "main" */
  revision?: string;
  repoType: RepoType;
}

export type ModelRef = LocalRef | HubRef;

export interface ParseRefOptions {
  /** repo type when the text has no `datasets/` prefix; default "model" */
  repoType?: RepoType;
  /** base for relative local paths; default process.cwd() */
  cwd?: string;
  /** injectable for tests; default fs.existsSync */
  exists?: (path: string) => boolean;
}

// huggingface_hub's validate_repo_id: word chars, '-', '.', at most 96 chars per id, and neither
// '--' nor '..' (the cache folder uses '--' as its separator).
const REPO_PART = /^[A-Za-z0-9_.-]+$/;
const MAX_REPO_ID = 96;
// git ref names, roughly: no spaces, '~^:?*[\', no '..', no leading/trailing '/', no '@{'.
const REVISION = /^[A-Za-z0-9._/-]+$/;

const BAD_REF_HINT =
  "Use org/name or org/name@revision for a Hub repo (e.g. mistralai/Mistral-7B-v0.1@main), " +
  "datasets/org/name for a dataset, or ./path, /path, ~/path for a local folder.";

function expandLocal(text: string, cwd: string): string {
  if (text === "~") return homedir();
  if (text.startsWith("~/")) return join(homedir(), text.slice(2));
  return isAbsolute(text) ? text : resolve(cwd, text);
}

function looksLocal(text: string): boolean {
  return (
    text === "." ||
    text === ".." ||
    text === "~" ||
    text.startsWith("./") ||
    text.startsWith("../") ||
    text.startsWith("/") ||
    text.startsWith("~/") ||
    text.includes("\\") ||
    /^[A-Za-z]:/.test(text)
  );
}

function badRef(text: string, why: string): HubError {
  return new HubError("HUB_BAD_REF", `"${text}" is not a valid model reference: ${why}`, { hint: BAD_REF_HINT });
}

/** Check one "org/name" id; throws HUB_BAD_REF naming the offending part. */
export function validateRepoId(repo: string, original = repo): void {
  const parts = repo.split("/");
  if (parts.length !== 2) {
    throw badRef(original, parts.length === 1 ? `"${repo}" has no organisation (expected org/name)` : `"${repo}" has ${parts.length - 1} slashes (expected org/name)`);
  }
  if (repo.length > MAX_REPO_ID) throw badRef(original, `the id is ${repo.length} characters (at most ${MAX_REPO_ID})`);
  for (const part of parts) {
    if (part === "") throw badRef(original, "empty organisation or name");
    if (!REPO_PART.test(part)) throw badRef(original, `"${part}" may only contain letters, digits, '-', '_' and '.'`);
    if (part.includes("--") || part.includes("..")) throw badRef(original, `"${part}" contains '--' or '..'`);
    if (/^[-.]|[-.]$/.test(part)) throw badRef(original, `"${part}" starts or ends with '-' or '.'`);
  }
}

export function validateRevision(revision: string, original = revision): void {
  if (
    revision === "" ||
    !REVISION.test(revision) ||
    revision.includes("..") ||
    revision.includes("//") ||
    revision.startsWith("/") ||
    revision.endsWith("/") ||
    revision.endsWith(".lock")
  ) {
    throw badRef(original, `revision "${revision}" is not a branch, tag or commit name`);
  }
}

/**
 * Parse what the user typed. Order: an existing local path wins; then explicit local forms
 * (./x, ../x, /x, ~/x); then a Hub id `[datasets/]org/name[@revision]` (also with `hf://`).
 */
export function parseModelRef(text: string, options: ParseRefOptions = {}): ModelRef {
  const cwd = options.cwd ?? process.cwd();
  const exists = options.exists ?? existsSync;
  const trimmed = text.trim();
  if (trimmed === "") throw badRef(text, "it is empty");
  const localPath = expandLocal(trimmed, cwd);
  if (exists(localPath) || looksLocal(trimmed)) return { kind: "local", path: localPath };

  let rest = trimmed.startsWith("hf://") ? trimmed.slice("hf://".length) : trimmed;
  let repoType: RepoType = options.repoType ?? "model";
  if (rest.startsWith("datasets/")) {
    repoType = "dataset";
    rest = rest.slice("datasets/".length);
  } else if (rest.startsWith("models/")) {
    repoType = "model";
    rest = rest.slice("models/".length);
  }
  const at = rest.indexOf("@");
  const repo = at < 0 ? rest : rest.slice(0, at);
  const revision = at < 0 ? undefined : rest.slice(at + 1);
  if (!repo.includes("/") && revision === undefined) {
    throw new HubError("HUB_BAD_REF", `"${text}" is neither an existing local path nor a Hub id org/name`, {
      hint: `No file or folder "${localPath}" exists. ${BAD_REF_HINT} Legacy ids without an organisation need theirs, e.g. openai-community/gpt2.`,
    });
  }
  validateRepoId(repo, text);
  if (revision !== undefined) validateRevision(revision, text);
  return revision === undefined ? { kind: "hub", repo, repoType } : { kind: "hub", repo, revision, repoType };
}

/** `parseModelRef` for places that expect a dataset (`allenai/ai2_arc` means the dataset repo). */
export function parseDatasetRef(text: string, options: Omit<ParseRefOptions, "repoType"> = {}): ModelRef {
  return parseModelRef(text, { ...options, repoType: "dataset" });
}

/** "org/name@rev" or "datasets/org/name" — the inverse of parseModelRef for Hub refs. */
export function formatHubRef(ref: HubRef): string {
  const prefix = ref.repoType === "dataset" ? "datasets/" : "";
  return `${prefix}${ref.repo}${ref.revision === undefined ? "" : `@${ref.revision}`}`;
}
