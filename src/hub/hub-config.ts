// Where the Hub is and where its cache lives, read from the same environment variables as
// huggingface_hub (HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE), so the Python
// tools and dusk share one cache and one login. It only reads settings; it never writes.

import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

export interface HubSettings {
  /** base URL without a trailing slash */
  endpoint: string;
  /** the `hub` cache folder holding models--org--name/… */
  cacheDir: string;
  token: string | undefined;
  /** HF_HUB_OFFLINE=1: only the cache is used */
  offline: boolean;
}

export interface HubSettingsOverrides {
  endpoint?: string;
  cacheDir?: string;
  /** explicit token; `null` means "send none even if HF_TOKEN is set" */
  token?: string | null;
  offline?: boolean;
  /** default process.env; tests pass their own */
  env?: NodeJS.ProcessEnv;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function isTruthy(v: string | undefined): boolean {
  return v !== undefined && ["1", "true", "yes", "on"].includes(v.trim().toLowerCase());
}

/** $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface */
export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  return nonEmpty(env["HF_HOME"]) ?? join(nonEmpty(env["XDG_CACHE_HOME"]) ?? join(homedir(), ".cache"), "huggingface");
}

/** $HF_HUB_CACHE, else the legacy $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return nonEmpty(env["HF_HUB_CACHE"]) ?? nonEmpty(env["HUGGINGFACE_HUB_CACHE"]) ?? join(hfHome(env), "hub");
}

/** $HF_TOKEN, the legacy $HUGGING_FACE_HUB_TOKEN, or the file `huggingface-cli login` writes. */
export function hubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = nonEmpty(env["HF_TOKEN"]) ?? nonEmpty(env["HUGGING_FACE_HUB_TOKEN"]);
  if (fromEnv !== undefined) return fromEnv;
  const tokenPath = nonEmpty(env["HF_TOKEN_PATH"]) ?? join(hfHome(env), "token");
  try {
    // A token file is a few dozen bytes; anything long is not a token.
    const text = readFileSync(tokenPath, "utf8");
    return text.length <= 4096 ? nonEmpty(text) : undefined;
  } catch {
    return undefined;
  }
}

export function resolveHubSettings(o: HubSettingsOverrides = {}): HubSettings {
  const env = o.env ?? process.env;
  const endpoint = (o.endpoint ?? nonEmpty(env["HF_ENDPOINT"]) ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, "");
  return {
    endpoint,
    cacheDir: o.cacheDir ?? hubCacheDir(env),
    token: o.token === null ? undefined : (o.token ?? hubToken(env)),
    offline: o.offline ?? isTruthy(env["HF_HUB_OFFLINE"]),
  };
}
