// Writes the two tiny models the gradient-slerp golden merges (dusk's generator, compiled dist/).
// The options go into the golden (options.json), so the test writes the same two models and checks
// their digests.
import { writeFile } from "node:fs/promises";
import { writeTinyHfModel } from "../../dist/fixtures/tiny-model.js";

export const GRADIENT_SLERP_MODELS = {
  a: { layers: 8, hidden: 32, intermediate: 64, heads: 4, kvHeads: 2, vocabSize: 64, seed: 11, std: 0.05 },
  b: { layers: 8, hidden: 32, intermediate: 64, heads: 4, kvHeads: 2, vocabSize: 64, seed: 12, std: 0.05 },
};

const out = process.argv[2];
if (out) {
  for (const [name, options] of Object.entries(GRADIENT_SLERP_MODELS)) await writeTinyHfModel(`${out}/${name}`, options);
  await writeFile(`${out}/options.json`, JSON.stringify(GRADIENT_SLERP_MODELS));
}
