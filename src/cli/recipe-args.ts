// Turns `dusk plan|build|eval` arguments into a Recipe and open checkpoints: either a mergekit
// YAML file, or a preset (dus, idus, expand, prune, layers) applied to one or two models.

import { readFile, stat } from "node:fs/promises";
import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { openModelRef } from "./model-ref.js";
import type { PlanOptions } from "../plan/plan.js";
import type { SourceVocabulary } from "../plan/vocabulary.js";
import { readVocabularies } from "../merge/vocabulary.js";
import { RecipeError } from "../errors.js";
import { LIMITS } from "../limits.js";
import {
  dusBlendRecipe, dusRecipe, expandRecipe, idusRecipe, layersRecipe, parseMergekitYaml, pruneRecipe, recipeModels, recipeToMergekitYaml, type Recipe,
} from "../recipe/index.js";

export const PRESETS = ["dus", "dus-blend", "idus", "expand", "prune", "layers"] as const;

/** The citty args every recipe-taking command accepts. */
export const recipeArgs = {
  preset: { type: "string", description: `layout preset: ${PRESETS.join(", ")}`, valueHint: "name" },
  drop: { type: "string", description: "dus/idus: layers m dropped from the end of A and the start of B (default n/4)", valueHint: "m" },
  group: { type: "string", description: "idus: layers per interlocked group g (1 = iDUS-1layer; n−m = dus)", valueHint: "g" },
  every: { type: "string", description: "expand: insert an identity copy after every k layers", valueHint: "k" },
  blocks: { type: "string", description: "expand: number of blocks to insert, evenly spaced (LLaMA-Pro)", valueHint: "p" },
  scale: { type: "string", description: "expand: scale of the inserted copies' o_proj/down_proj (default 0 = identity)", valueHint: "s" },
  "drop-range": { type: "string", description: "prune: layers a:b to remove ([a, b))", valueHint: "a:b" },
  layers: { type: "string", description: "layers: explicit list such as 0-23,8-31 or 0,8,1,9 (b: prefix = second model)", valueHint: "list" },
  seed: { type: "string", description: "merges: seed of the random methods (DARE, DELLA, arcee_fusion sampling; default 0)", valueHint: "n" },
} as const;

export interface RecipeArgValues {
  preset?: string;
  drop?: string;
  group?: string;
  every?: string;
  blocks?: string;
  scale?: string;
  "drop-range"?: string;
  layers?: string;
  seed?: string;
}

export interface ResolvedRecipe {
  recipe: Recipe;
  /** the mergekit YAML: the user's own text when they gave one, else the export */
  yaml: string;
  checkpoints: Checkpoint[];
  /** the sources' vocabularies, when the recipe sets a tokenizer source */
  vocabularies?: SourceVocabulary[];
  close(): Promise<void>;
}

const isYaml = (p: string) => /\.ya?ml$/i.test(p);

export async function resolveRecipe(positionals: string[], a: RecipeArgValues): Promise<ResolvedRecipe> {
  const opened = new Map<string, Checkpoint>();
  const open = async (ref: string) => {
    let c = opened.get(ref);
    if (!c) opened.set(ref, (c = await openModelRef(ref)));
    return c;
  };
  const close = async () => void (await Promise.all([...opened.values()].map((c) => c.close())));
  try {
    let recipe: Recipe;
    let yaml: string | undefined;
    if (positionals.length === 1 && isYaml(positionals[0]!)) {
      if (a.preset) throw new RecipeError("recipe.args", "give either a recipe YAML or --preset, not both", { path: "--preset" });
      const file = positionals[0]!;
      const size = (await stat(file)).size;
      if (size > LIMITS.recipeBytes) throw new RecipeError("recipe.too-large", `${file} is ${size} bytes; recipes are limited to ${LIMITS.recipeBytes}`, { file });
      yaml = await readFile(file, "utf8");
      recipe = parseMergekitYaml(yaml, file);
    } else {
      if (!a.preset) {
        throw new RecipeError("recipe.args", "no recipe: give a mergekit YAML file or --preset", {
          path: "--preset", hint: `e.g. dusk build --preset idus --group 8 ./model -o ./out (presets: ${PRESETS.join(", ")})`,
        });
      }
      if (positionals.length < 1 || positionals.length > 2) {
        throw new RecipeError("recipe.args", `a preset takes one model (or two of the same shape), found ${positionals.length}`, { path: "MODEL" });
      }
      const [model, modelB] = positionals as [string, string | undefined];
      const base = await open(model);
      if (modelB !== undefined) await open(modelB);
      recipe = presetRecipe(a, model, modelB, base.numLayers, base.arch.forward.sandwichNorms);
    }
    // every model the recipe names, base first: the order makePlan numbers its sources in
    const refs = recipeModels(recipe);
    for (const ref of refs) await open(ref);
    const checkpoints = refs.map((r) => opened.get(r)!);
    const vocabularies = recipe.tokenizerSource !== undefined || recipe.tokenizer !== undefined ? await readVocabularies(checkpoints) : undefined;
    return { recipe, yaml: yaml ?? recipeToMergekitYaml(recipe), checkpoints, ...(vocabularies ? { vocabularies } : {}), close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** --seed: the random merges' seed (0 when not given). */
export function mergeSeed(a: { seed?: string }): number {
  if (a.seed === undefined) return 0;
  const n = Number(a.seed);
  if (!Number.isSafeInteger(n) || n < 0) throw new RecipeError("recipe.seed", `--seed must be a whole number ≥ 0, found ${JSON.stringify(a.seed)}`, { path: "--seed", hint: "e.g. --seed 1" });
  return n;
}

/** --dtype and --type (GGUF merges) as planner options, with the recipe's vocabularies. */
export function planOptions(a: { dtype?: string; type?: string }, r?: { vocabularies?: SourceVocabulary[] }): PlanOptions {
  const o: PlanOptions = {};
  if (r?.vocabularies) o.vocabularies = r.vocabularies;
  if (a.dtype !== undefined) o.dtype = a.dtype;
  if (a.type !== undefined) o.ggufType = a.type.toUpperCase();
  return o;
}

function int(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RecipeError("recipe.option", `${flag} must be an integer, found ${JSON.stringify(v)}`, { path: flag });
  return n;
}

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new RecipeError("recipe.option", `${flag} must be a number, found ${JSON.stringify(v)}`, { path: flag });
  return n;
}

/** `postNorms`: the family normalises each branch's output (Gemma 2/3), so expand scales those norms. */
export function presetRecipe(a: RecipeArgValues, model: string, modelB: string | undefined, layers: number, postNorms = false): Recipe {
  const b = modelB === undefined ? {} : { modelB };
  const drop = int(a.drop, "--drop");
  const dropOpt = drop === undefined ? {} : { drop };
  switch (a.preset) {
    case "dus":
      return dusRecipe({ model, ...b, layers, ...dropOpt });
    case "dus-blend":
      return dusBlendRecipe({ model, ...b, layers, ...dropOpt });
    case "idus": {
      const group = int(a.group, "--group");
      if (group === undefined) throw new RecipeError("recipe.option", "idus needs --group g", { path: "--group", hint: "--group 1 interlocks single layers; --group 8 is iDUS-8layer" });
      return idusRecipe({ model, ...b, layers, group, ...dropOpt });
    }
    case "expand": {
      const every = int(a.every, "--every");
      const blocks = int(a.blocks, "--blocks");
      const scale = num(a.scale, "--scale");
      return expandRecipe({
        model, layers, ...(every === undefined ? {} : { every }), ...(blocks === undefined ? {} : { blocks }), ...(scale === undefined ? {} : { scale }),
        ...(postNorms ? { target: "post-norms" as const } : {}),
      });
    }
    case "prune":
      if (!a["drop-range"]) throw new RecipeError("recipe.option", "prune needs --drop-range a:b", { path: "--drop-range" });
      return pruneRecipe({ model, layers, dropRange: a["drop-range"] });
    case "layers":
      if (!a.layers) throw new RecipeError("recipe.option", "the layers preset needs --layers LIST", { path: "--layers", hint: "e.g. --layers 0-23,8-31" });
      return layersRecipe({ model, ...b, layers, spec: a.layers });
    default:
      throw new RecipeError("recipe.preset", `unknown preset ${JSON.stringify(a.preset)}`, { path: "--preset", hint: `known presets: ${PRESETS.join(", ")}` });
  }
}
