// What an axolotl job needs to know about a stack: its family and decoder-layer class, its shape,
// how many parameters each part holds (per stack position, embeddings, final norm, head), and the
// layout/recipe dusk recorded when it built it. From an HF directory's headers, or from a config
// alone (a SOLAR-scale stack the laptop never holds). Reads no tensor data.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { detectHfArchitecture, parseLayerTensorName, readHParams, type Architecture, type HParams } from "../../arch/index.js";
import { openCheckpoint } from "../../checkpoint/open-checkpoint.js";
import { checkSideFileSize } from "../../checkpoint/read-json.js";
import { DuskError } from "../../errors.js";

export interface StackInfo {
  /** the stack as the job loads it: a directory (on the cluster) or a Hub id */
  path: string;
  /** HF config.json */
  config: Record<string, unknown>;
  arch: Architecture;
  hparams: HParams;
  /** HF names of the parameters the train selection speaks of */
  names: { layerPrefix: string; embed: string; norm: string; head: string };
  /** transformers' decoder-layer class, for sharding wrappers (`LlamaDecoderLayer`) */
  decoderLayerClass: string;
  params: {
    /** per stack position */
    layers: number[];
    embed: number;
    norm: number;
    /** 0 when the head is tied to the embedding (one tensor, counted as embed) */
    head: number;
    total: number;
  };
  /** what dusk recorded in the model card / mergekit_config.yml, when the stack is dusk's */
  layout?: string;
  recipeYaml?: string;
}

/** A stack described by its config alone (parameters counted from the shapes the config implies). */
export function stackInfoFromConfig(path: string, config: Record<string, unknown>, recorded: { layout?: string; recipeYaml?: string } = {}): StackInfo {
  const file = `${path}/config.json`;
  const arch = detectHfArchitecture(config, file);
  const hp = readHParams(arch, config, file);
  const q = hp.numHeads * hp.headDim;
  const kv = hp.numKvHeads * hp.headDim;
  const bias = arch.layer.some((r) => r.role === "q_bias") && config.attention_bias !== false ? q + 2 * kv : 0;
  // q, k, v, o projections + gate, up, down + two RMSNorm weights (+ qkv biases for Qwen2)
  const perLayer = hp.hiddenSize * (q + 2 * kv) + q * hp.hiddenSize + 3 * hp.hiddenSize * hp.intermediateSize + 2 * hp.hiddenSize + bias;
  const embed = hp.vocabSize * hp.hiddenSize;
  return assemble(path, config, arch, hp, Array.from({ length: hp.numLayers }, () => perLayer), embed, hp.hiddenSize, hp.tied ? 0 : embed, recorded);
}

/** A stack from an HF directory: config, tensor shapes from the headers, and dusk's records. */
export async function readStackInfo(dir: string, as: string = dir): Promise<StackInfo> {
  const c = await openCheckpoint(dir);
  try {
    if (c.format !== "safetensors" || !c.config) {
      throw new DuskError("AXOLOTL_NOT_HF", `${dir} is a GGUF file; axolotl trains HF checkpoints`, {
        hint: "export the HF directory the GGUF was built or converted from",
      });
    }
    const hp = readHParams(c.arch, c.config, join(dir, "config.json"));
    const layers = new Array<number>(c.numLayers).fill(0);
    const names = roleNames(c.arch);
    let embed = 0, norm = 0, head = 0, other = 0;
    for (const t of c.tensors.values()) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      const layer = parseLayerTensorName(t.name, "hf")?.layer;
      if (layer !== undefined && layer < layers.length) layers[layer]! += n;
      else if (t.name === names.embed) embed += n;
      else if (t.name === names.norm) norm += n;
      else if (t.name === names.head) head += n;
      else other += n;
    }
    const recorded = await readRecorded(dir);
    const info = assemble(as, c.config, c.arch, hp, layers, embed, norm, head, recorded);
    info.params.total += other;
    return info;
  } finally {
    await c.close();
  }
}

function assemble(path: string, config: Record<string, unknown>, arch: Architecture, hp: HParams, layers: number[], embed: number, norm: number, head: number, recorded: { layout?: string; recipeYaml?: string }): StackInfo {
  const names = roleNames(arch);
  const archName = Array.isArray(config.architectures) && typeof config.architectures[0] === "string" ? config.architectures[0] : arch.hfArchitectures[0]!;
  return {
    path,
    config,
    arch,
    hparams: hp,
    names,
    // transformers names each family's layer after its model class: LlamaForCausalLM → LlamaDecoderLayer
    decoderLayerClass: archName.replace(/ForCausalLM$/, "DecoderLayer"),
    params: { layers, embed, norm, head, total: layers.reduce((a, b) => a + b, 0) + embed + norm + head },
    ...(recorded.layout ? { layout: recorded.layout } : {}),
    ...(recorded.recipeYaml ? { recipeYaml: recorded.recipeYaml } : {}),
  };
}

function roleNames(arch: Architecture): StackInfo["names"] {
  const post = (role: string) => arch.postLayer.find((r) => r.role === role)?.hf;
  const layerPrefix = /^(.*?\blayers)\./.exec(arch.layer[0]!.hf)?.[1] ?? "model.layers";
  return { layerPrefix, embed: arch.preLayer[0]!.hf, norm: post("norm") ?? "model.norm.weight", head: post("lm_head") ?? "lm_head.weight" };
}

/** The layout line of dusk's model card and the recipe beside it; absent for stacks dusk did not build. */
async function readRecorded(dir: string): Promise<{ layout?: string; recipeYaml?: string }> {
  const read = async (name: string) => {
    try {
      await checkSideFileSize(join(dir, name));
      return await readFile(join(dir, name), "utf8");
    } catch {
      return undefined;
    }
  };
  const card = await read("README.md");
  const layout = card && /^Layout \(base-layer indices\): \*\*(.+)\*\*$/m.exec(card)?.[1];
  const recipeYaml = await read("mergekit_config.yml");
  return { ...(layout ? { layout } : {}), ...(recipeYaml ? { recipeYaml } : {}) };
}
