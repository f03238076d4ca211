// Re-reads a built output and checks every tensor against its source under the plan: the same
// names, types and shapes, and the same bytes (compared as SHA-256 of the streamed bytes, so
// memory stays at one chunk; a merged tensor is merged again, which the seeded generator makes
// reproducible). Also checks that the output declares the planned layer count and the planned
// per-layer attention config (layer_types, sliding_window_pattern, max_window_layers).

import { createHash } from "node:crypto";
import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import type { Plan } from "../plan/types.js";
import type { VerifyEvent, VerifyMismatch } from "./events.js";
import type { MergeRunOptions } from "../merge/executor.js";
import { produceTensor } from "./op-bytes.js";
import { CHUNK_BYTES, newChunkBuffers } from "./tensor-stream.js";

export async function* verifyOutput(output: Checkpoint, plan: Plan, sources: readonly Checkpoint[], merge: MergeRunOptions = {}): AsyncGenerator<VerifyEvent> {
  const mismatches: VerifyMismatch[] = [];
  const totalBytes = plan.metrics.outputBytes;
  yield { type: "start", tensors: plan.tensors.length, totalBytes };
  if (output.numLayers !== plan.layers.length) {
    mismatches.push({ tensor: "(config)", problem: `declares ${output.numLayers} layers, the plan has ${plan.layers.length}` });
  }
  mismatches.push(...configMismatches(output, plan));
  const planned = new Set(plan.tensors.map((t) => t.name));
  for (const name of output.tensors.keys()) {
    if (!planned.has(name)) mismatches.push({ tensor: name, problem: "in the output but not in the plan" });
  }
  const buffers = newChunkBuffers();
  const readBuffer = new Uint8Array(CHUNK_BYTES);
  let bytes = 0;
  let index = 0;
  for (const op of plan.tensors) {
    const got = output.tensors.get(op.name);
    if (!got) {
      mismatches.push({ tensor: op.name, problem: "missing from the output" });
      continue;
    }
    if (got.type.name !== op.type || got.shape.join(",") !== op.shape.join(",")) {
      mismatches.push({ tensor: op.name, problem: `is ${got.type.name} [${got.shape.join(", ")}], the plan says ${op.type} [${op.shape.join(", ")}]` });
      continue;
    }
    const expected = createHash("sha256");
    const source = sources[op.source]!.tensors.get(op.from);
    if (!source) {
      mismatches.push({ tensor: op.name, problem: `its source ${op.from} is missing from ${plan.sources[op.source]!.ref}` });
      continue;
    }
    await produceTensor(op, sources, async (chunk) => void expected.update(chunk), buffers, merge);
    const actual = createHash("sha256");
    for (let done = 0; done < got.byteLength; ) {
      const view = readBuffer.subarray(0, Math.min(readBuffer.byteLength, got.byteLength - done));
      await got.source.readInto(got.offset + done, view);
      actual.update(view);
      done += view.byteLength;
    }
    const [e, a] = [expected.digest("hex"), actual.digest("hex")];
    if (e !== a) mismatches.push({ tensor: op.name, problem: `bytes differ from ${op.from} of ${plan.sources[op.source]!.ref} (${op.transform.kind}): sha256 ${a.slice(0, 12)}… ≠ ${e.slice(0, 12)}…` });
    bytes += op.byteLength;
    yield { type: "progress", tensor: op.name, index: index++, bytes, totalBytes };
  }
  yield { type: "done", tensors: plan.tensors.length, bytes, mismatches };
}

/** The per-layer config keys an HF output must carry as planned (in text_config for multimodal Gemma 3). */
const PER_LAYER_KEYS = ["layer_types", "sliding_window_pattern", "max_window_layers"];

function configMismatches(output: Checkpoint, plan: Plan): VerifyMismatch[] {
  if (!plan.config || !output.config) return [];
  const key = output.arch.hfTextConfigKey;
  const text = (c: Record<string, unknown>) => (key !== undefined && typeof c[key] === "object" && c[key] !== null ? (c[key] as Record<string, unknown>) : c);
  const [got, want] = [text(output.config), text(plan.config)];
  return PER_LAYER_KEYS.filter((k) => JSON.stringify(got[k]) !== JSON.stringify(want[k])).map((k) => ({
    tensor: "(config)",
    problem: `config.json ${key !== undefined ? `${key}.` : ""}${k} is ${JSON.stringify(got[k])?.slice(0, 80) ?? "absent"}, the plan says ${JSON.stringify(want[k])?.slice(0, 80) ?? "absent"}`,
  }));
}
