// `dusk data pull --tasks leaderboard-v1 --to DIR`: downloads each task's split files (taskDataFiles)
// through the Hub client into DIR/<org>/<name>/<path>, the layout `dusk eval --data DIR` reads, and
// records the commit each file came from in DIR/<org>/<name>/.dusk-dataset.json (dataset-manifest.ts).

import { join } from "node:path";
import { defineCommand } from "citty";
import { downloadDataset, exportSnapshot } from "../hub/index.js";
import { resolveTasks, taskDataFiles } from "../eval/index.js";
import { recordDatasetPull } from "../eval/dataset-manifest.js";
import { makeProgress } from "./progress.js";

const pullCommand = defineCommand({
  meta: { name: "pull", description: "Download the tasks' dataset files into DIR in the Hub layout" },
  args: {
    tasks: { type: "string", description: "comma-separated task names or leaderboard-v1 (default leaderboard-v1)" },
    to: { type: "string", description: "target directory", required: true },
    endpoint: { type: "string", description: "Hub endpoint (default $HF_ENDPOINT or https://huggingface.co)" },
    revision: { type: "string", description: "dataset revision (default main)" },
    json: { type: "boolean", description: "print the written files as JSON" },
    quiet: { type: "boolean", description: "no progress output" },
  },
  async run({ args }) {
    const names = (args.tasks ?? "leaderboard-v1").split(",").map((s) => s.trim()).filter(Boolean).map((n) => (n === "leaderboard-v1" ? "leaderboard" : n));
    const byRepo = new Map<string, Set<string>>();
    for (const task of resolveTasks(names)) {
      for (const f of taskDataFiles(task)) {
        let set = byRepo.get(f.repo);
        if (!set) byRepo.set(f.repo, (set = new Set()));
        set.add(f.pathInRepo);
      }
    }
    const progress = makeProgress({ quiet: args.quiet || args.json });
    const written: string[] = [];
    const pulled: { repo: string; revision: string; commit: string; manifest: string }[] = [];
    for (const [repo, paths] of byRepo) {
      const files = [...paths];
      let finished = 0;
      let snapshot = "";
      let resolved: { revision: string; commit: string; files: { path: string; size: number }[] } | undefined;
      const gen = downloadDataset(repo, files, { ...(args.endpoint ? { endpoint: args.endpoint } : {}), ...(args.revision ? { revision: args.revision } : {}) });
      try {
        for await (const e of gen) {
          if (e.type === "resolved") {
            resolved = { revision: e.revision, commit: e.commit, files: e.files };
            progress.start(repo, e.total, "bytes");
          }
          else if (e.type === "progress") progress.update(finished + e.bytes, e.file);
          else if (e.type === "file-done") progress.update((finished += e.total), e.file);
          else if (e.type === "done") snapshot = e.snapshotDir;
        }
      } finally {
        progress.stop();
      }
      written.push(...(await exportSnapshot(snapshot, join(args.to, repo), { files })));
      // Only after the files are in place, so a manifest never vouches for a file that is not there.
      if (resolved !== undefined) {
        const manifest = await recordDatasetPull(args.to, { repo, ...resolved });
        pulled.push({ repo, revision: resolved.revision, commit: resolved.commit, manifest });
      }
    }
    if (args.json) process.stdout.write(JSON.stringify({ files: written, datasets: pulled }, null, 2) + "\n");
    else process.stdout.write(`pulled ${written.length} file(s) from ${byRepo.size} dataset(s) into ${args.to}\n`);
  },
});

export const dataCommand = defineCommand({
  meta: { name: "data", description: "Evaluation datasets: `dusk data pull`" },
  subCommands: { pull: pullCommand },
});
