// The training forward against the engine's forward and llama.cpp on the same trained checkpoint:
// per-token −log p of a held-out sentence from MicroBatchCompute (what training optimises), from
// the engine (tokenLogprobs) and from llama.cpp on the F32 GGUF `dusk convert` writes.

import { describe, expect, it } from "vitest";
import { openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { checkpointWeights, tokenLogprobs } from "../src/engine/index.js";
import { getTrainKernel, loadModelForTraining, MicroBatchCompute, tokenizerOf } from "../src/train/index.js";
import { fullCorpus } from "../src/fixtures/corpus.js";
import { llamaLogprobs, maxAbsDiff } from "./helpers/llama-logprobs.js";
import { toGguf } from "./helpers/models.js";
import { trainedTinyModel } from "./helpers/trained.js";

describe("training forward = engine forward = llama.cpp", () => {
  it("per-token log-probabilities of held-out text on a trained model", async () => {
    const { dir } = await trainedTinyModel();
    const model = await loadModelForTraining(dir, { shared: false });
    const text = fullCorpus().slice(500_000, 500_400); // far from the 60k characters it was trained on
    const tokens = [1, ...tokenizerOf(model).encode(text)].slice(0, 64);
    const T = tokens.length - 1;
    const compute = new MicroBatchCompute(await getTrainKernel(), model.layout, model.params, T);
    const losses = new Float32Array(T);
    compute.run(Int32Array.from(tokens.slice(0, T)), Int32Array.from(tokens.slice(1)), undefined, losses);
    const train = Array.from(losses, (l) => -l);

    const c = await openCheckpoint(dir);
    let engine: number[];
    try {
      engine = Array.from(await tokenLogprobs(checkpointWeights(c), tokens));
    } finally {
      await c.close();
    }
    const llama = (await llamaLogprobs(await toGguf(dir, "f32"), tokens)).next;

    const trainVsEngine = maxAbsDiff(train, engine);
    const engineVsLlama = maxAbsDiff(engine, llama);
    console.log(`max |Δ log p| over ${T} tokens: training vs engine ${trainVsEngine.toExponential(2)}, engine vs llama.cpp ${engineVsLlama.toExponential(2)}`);
    expect(trainVsEngine).toBeLessThan(1e-4);
    expect(engineVsLlama).toBeLessThan(1e-4);
    expect(maxAbsDiff(train, llama)).toBeLessThan(2e-4);
    // a trained model, not a uniform one: the mean log-probability beats 1/vocab by far
    expect(train.reduce((a, b) => a + b, 0) / T).toBeGreaterThan(-Math.log(400) + 1.5);
  });
});
