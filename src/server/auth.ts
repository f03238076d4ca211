// Who may use `dusk serve`: a bearer API key compared in constant time, and the rule that a server
// without a key binds loopback only (unless the user says --insecure). Not TLS: put a reverse
// proxy in front for that.

import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { IncomingMessage } from "node:http";
import { RuntimeError } from "../errors.js";
import { HttpError } from "./http.js";

/** Checks `Authorization: Bearer KEY` (or `x-api-key: KEY`); undefined `key` lets everyone in. */
export function checkApiKey(req: IncomingMessage, key: string | undefined): void {
  if (key === undefined) return;
  const header = req.headers.authorization;
  const given = typeof header === "string" && /^bearer /i.test(header) ? header.slice(7).trim() : typeof req.headers["x-api-key"] === "string" ? req.headers["x-api-key"] : undefined;
  if (given === undefined) throw new HttpError(401, "no API key given: send `Authorization: Bearer KEY`", { type: "invalid_request_error", code: "invalid_api_key" });
  // Digests first: equal lengths for timingSafeEqual, and no early exit that leaks the key's length.
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(key).digest();
  if (!timingSafeEqual(a, b)) throw new HttpError(401, "the API key is not valid", { type: "invalid_request_error", code: "invalid_api_key" });
}

/** 127.0.0.0/8, ::1, ::ffff:127.x and "localhost". */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || /^::ffff:127\./.test(h);
  return false;
}

/** Refuses to expose a server without a key to the network, unless `insecure`. */
export function checkBind(host: string, apiKey: string | undefined, insecure: boolean): void {
  if (apiKey !== undefined && apiKey.length === 0) {
    throw new RuntimeError("runtime.serve-key", "the API key is empty", { hint: "give --api-key a secret, or set DUSK_API_KEY" });
  }
  if (apiKey === undefined && !insecure && !isLoopback(host)) {
    throw new RuntimeError("runtime.serve-insecure", `refusing to serve on ${host} without an API key: anyone who can reach it could use the model`, {
      hint: "give --api-key KEY (or set DUSK_API_KEY), bind 127.0.0.1, or pass --insecure if the network is yours",
    });
  }
}
