// A small model trained from scratch once per test process (the library's own `dusk train` path,
// in the main thread), for tests that need weights that predict text: healing, resume, cross-checks.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { defaultCorpus } from "../../src/fixtures/corpus.js";
import { parseScratchConfig, prepareScratch, runTraining, runToEnd } from "../../src/train/index.js";
import { tempDir } from "./models.js";

export const TINY_TRAIN_YAML = `hidden_size: 32
intermediate_size: 96
num_layers: 4
num_heads: 4
num_kv_heads: 2
vocab_size: 400
seq_len: 32
batch: 8
steps: 200
lr: 1e-2
eval_every: 0
seed: 1
`;

let made: Promise<{ dir: string; text: string; textFile: string; configFile: string }> | undefined;

/** The trained model's directory, the text file it was trained on (60k characters) and its config. */
export function trainedTinyModel(): Promise<{ dir: string; text: string; textFile: string; configFile: string }> {
  made ??= (async () => {
    const root = await tempDir("dusk-trained-");
    const text = defaultCorpus().slice(0, 60_000);
    const textFile = join(root, "corpus.txt");
    const configFile = join(root, "tiny.yml");
    await writeFile(textFile, text);
    await writeFile(configFile, TINY_TRAIN_YAML);
    const dir = join(root, "base");
    const run = await prepareScratch({ config: parseScratchConfig(TINY_TRAIN_YAML, configFile), texts: [{ name: textFile, text }], workers: 0, output: { dir, inputs: [textFile] } });
    await runToEnd(runTraining(run));
    return { dir, text, textFile, configFile };
  })();
  return made;
}
