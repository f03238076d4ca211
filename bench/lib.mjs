// Shared bench helpers: generated models, `cp` timings, and child runs that report their peak RSS.
// Every figure a bench prints is a ratio taken side by side in one run, never an absolute time.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, rmSync, statSync, readdirSync } from "node:fs";
import { join } from "node:path";

export const DIST = new URL("../dist/", import.meta.url).pathname;

/** Wall seconds of `cp -r src dst` (dst removed first and after). */
export function timeCp(src, dst) {
  rmSync(dst, { recursive: true, force: true });
  const t = performance.now();
  execFileSync("cp", ["-r", src, dst]);
  execFileSync("sync");
  const s = (performance.now() - t) / 1000;
  rmSync(dst, { recursive: true, force: true });
  return s;
}

/** Runs `node script args…` and returns its JSON line plus the child's peak RSS in MB and its CPU seconds (user + system, all threads). */
export function runChild(script, args) {
  const r = spawnSync("/usr/bin/time", ["-f", "MAXRSS_KB=%M CPU_S=%U+%S", process.execPath, script, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  const rss = Number(/MAXRSS_KB=(\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024;
  const cpu = /CPU_S=([\d.]+)\+([\d.]+)/.exec(r.stderr);
  const json = JSON.parse(r.stdout.trim().split("\n").pop());
  return { ...json, peakRssMB: rss, processCpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : NaN };
}

export function sizeOf(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0);
}

export function gb(bytes) {
  return (bytes / 1e9).toFixed(2);
}

export function fresh(path) {
  if (existsSync(path)) rmSync(path, { recursive: true, force: true });
  return path;
}
