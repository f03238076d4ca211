import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { defaultCorpus } from "../src/fixtures/corpus.js";
import { heal } from "../src/train/heal.js";
import { makeTinyHf, tempDir } from "./helpers/models.js";

describe("smoke", () => {
  it("heals a tiny model in this thread and saves", async () => {
    const dir = await makeTinyHf({ layers: 2, hidden: 32, heads: 4, kvHeads: 2 });
    const out = join(await tempDir(), "out");
    const events: string[] = [];
    const r = await heal({
      model: dir, texts: [{ name: "corpus", text: defaultCorpus().slice(0, 20000) }], budget: { steps: 20 },
      settings: { seqLen: 64, batch: 4, lr: 3e-3, evalEvery: 10 }, workers: 2, output: { dir: out, inputs: [dir] },
      onEvent: (e) => events.push(e.type),
    });
    console.log(r.initial, r.final, r.tokensPerSecond, events.join(","));
    expect(r.final.loss).toBeLessThan(r.initial!.loss);
  });
});
