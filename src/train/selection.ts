// `--train all|seams|new|LIST[,embed][,head]`: which decoder layers (by stack position), and
// whether the embedding and the head (final norm + lm_head) train. `seams` and `new` read the
// stack's recipe as dusk recorded it (mergekit_config.yml, or the model card's recipe block).

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseMergekitYaml, recipeLayers, type StackLayer } from "../recipe/index.js";
import type { TrainSelection } from "./param-store.js";
import { TrainError } from "./train-error.js";

/** The source layer of every stack position, when the model's recipe is known. */
export interface StackRecipe {
  layers: StackLayer[];
  /** where it was read from */
  file: string;
  /** the recipe text, kept for the output's model card and mergekit_config.yml */
  yaml: string;
}

/** The recipe dusk wrote beside a built stack, or undefined for a plain model. */
export async function readStackRecipe(dir: string): Promise<StackRecipe | undefined> {
  const yamlPath = join(dir, "mergekit_config.yml");
  const yaml = await readFile(yamlPath, "utf8").catch(() => undefined);
  if (yaml !== undefined) return { layers: recipeLayers(parseMergekitYaml(yaml, yamlPath)), file: yamlPath, yaml };
  const cardPath = join(dir, "README.md");
  const card = await readFile(cardPath, "utf8").catch(() => "");
  const block = /## Recipe[^\n]*\n+```ya?ml\n([\s\S]*?)\n```/.exec(card);
  if (block) return { layers: recipeLayers(parseMergekitYaml(block[1]!, cardPath)), file: cardPath, yaml: block[1]! + "\n" };
  return undefined;
}

/** Positions i where layer i does not continue layer i−1 of the same model (+1). */
export function seamPositions(layers: readonly StackLayer[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < layers.length; i++) {
    const a = layers[i - 1]!;
    const b = layers[i]!;
    if (a.model !== b.model || b.layer !== a.layer + 1) out.push(i);
  }
  return out;
}

/** Positions whose (model, layer) already appeared earlier in the stack: the copies it adds. */
export function newPositions(layers: readonly StackLayer[]): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  layers.forEach((l, i) => {
    const key = `${l.model}\u0000${l.layer}`;
    if (seen.has(key)) out.push(i);
    seen.add(key);
  });
  return out;
}

/**
 * Parses a --train value for a model of `numLayers` layers. `all` trains everything (embedding
 * and head included); other items add layers: `seams` (the layers on both sides of each seam;
 * `seams:K` takes K on each side), `new`, `N` or `N-M` positions; `embed` and `head` add those.
 */
export function parseTrainSpec(spec: string, numLayers: number, recipe: StackRecipe | undefined): TrainSelection {
  const sel: TrainSelection = { layers: new Array<boolean>(numLayers).fill(false), embed: false, head: false };
  const items = spec.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw bad(spec, "an empty list", "e.g. --train all, --train seams, --train 6,7 or --train 20-27,head");
  const need = (what: string): StackRecipe => {
    if (!recipe) {
      throw new TrainError("TRAIN_NO_RECIPE", `--train ${what} needs the stack's recipe, and the model has no mergekit_config.yml or model-card recipe`, {
        hint: "use a stack built by dusk build (it records its recipe), or list layer positions such as --train 6,7",
      });
    }
    if (recipe.layers.length !== numLayers) {
      throw new TrainError("TRAIN_RECIPE_MISMATCH", `${recipe.file} describes ${recipe.layers.length} layers, but the model has ${numLayers}`, {
        hint: "the recipe file does not belong to this model; list layer positions instead",
      });
    }
    return recipe;
  };
  const mark = (i: number, item: string): void => {
    if (!Number.isSafeInteger(i) || i < 0 || i >= numLayers) {
      throw new TrainError("TRAIN_BAD_LAYER", `--train ${item} names layer ${i}, but the model has ${numLayers} layers (0–${numLayers - 1})`, {
        hint: "stack positions count from 0 in the output model's order",
      });
    }
    sel.layers[i] = true;
  };
  for (const item of items) {
    const seams = /^seams(?::(\d+))?$/.exec(item);
    const range = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (item === "all") {
      sel.layers.fill(true);
      sel.embed = sel.head = true;
    } else if (item === "embed") sel.embed = true;
    else if (item === "head") sel.head = true;
    else if (item === "new") {
      const pos = newPositions(need("new").layers);
      if (pos.length === 0) throw new TrainError("TRAIN_NOTHING_NEW", "--train new: the stack repeats no layer of its base", { hint: "train seams or a layer list instead" });
      pos.forEach((i) => mark(i, item));
    } else if (seams) {
      const width = seams[1] === undefined ? 1 : Number(seams[1]);
      if (width < 1) throw bad(spec, `${item} (the width must be at least 1)`, "e.g. seams or seams:2");
      const pos = seamPositions(need("seams").layers);
      if (pos.length === 0) throw new TrainError("TRAIN_NO_SEAMS", "--train seams: the stack has no seams (every layer continues the one before it)", { hint: "train all, or a layer list" });
      for (const p of pos) for (let i = Math.max(0, p - width); i < Math.min(numLayers, p + width); i++) mark(i, item);
    } else if (range) {
      const a = Number(range[1]);
      const b = range[2] === undefined ? a : Number(range[2]);
      if (b < a) throw bad(spec, `${item} (a range runs low-high)`, "e.g. 20-27");
      for (let i = a; i <= b; i++) mark(i, item);
    } else throw bad(spec, JSON.stringify(item), "items are all, seams, seams:K, new, embed, head, N or N-M, comma-separated");
  }
  return sel;
}

function bad(spec: string, found: string, hint: string): TrainError {
  return new TrainError("TRAIN_BAD_SELECTION", `--train ${JSON.stringify(spec)}: expected all, seams, new, embed, head or layer positions, found ${found}`, { hint });
}

/** "0-3, 23-24, embed, head" */
export function describeSelection(sel: TrainSelection): string {
  const runs: string[] = [];
  let start = -1;
  for (let i = 0; i <= sel.layers.length; i++) {
    if (i < sel.layers.length && sel.layers[i]) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      runs.push(start === i - 1 ? `${start}` : `${start}-${i - 1}`);
      start = -1;
    }
  }
  if (sel.embed) runs.push("embed");
  if (sel.head) runs.push("head");
  return runs.length === 0 ? "nothing" : runs.join(", ");
}
