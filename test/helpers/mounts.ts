// Real file-system conditions for the durability tests: a tiny tmpfs (a disk that fills up) and a
// read-only bind mount. Both need root (CAP_SYS_ADMIN); `mountSupport()` says whether this machine
// allows them, so tests can skip with that reason instead of faking the errors.

import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** undefined when mounting works here, else why not. */
export async function mountSupport(): Promise<string | undefined> {
  if (process.platform !== "linux") return "mounting a tmpfs needs Linux";
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root (these tests run unprivileged here)";
  const dir = await mkdtemp(join(tmpdir(), "dusk-mount-probe-"));
  try {
    await run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
    await run("umount", [dir]);
    return undefined;
  } catch (e) {
    return `mount is not permitted here (${(e as Error).message.split("\n")[0]})`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A fresh tmpfs of `bytes` (rounded up to pages by the kernel) at a new directory. */
export async function mountTmpfs(bytes: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dusk-tmpfs-"));
  await run("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir]);
  return dir;
}

/** `source` again at a new directory, read-only. */
export async function bindReadOnly(source: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dusk-ro-"));
  await run("mount", ["--bind", source, dir]);
  await run("mount", ["-o", "remount,bind,ro", dir]);
  return dir;
}

export async function unmount(dir: string): Promise<void> {
  await run("umount", [dir]).catch(() => run("umount", ["-l", dir]));
  await rm(dir, { recursive: true, force: true });
}
