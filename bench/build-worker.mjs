// Child process for bench/build.mjs: one build (or conversion) through the library, then a JSON
// line with its wall time. Peak RSS is measured around it by /usr/bin/time.
// usage: node build-worker.mjs build|convert SOURCE OUTPUT [group]

const [mode, source, output, group = "1"] = process.argv.slice(2);
const dusk = await import(new URL("../dist/index.js", import.meta.url).href);
const c = await dusk.openCheckpoint(source, "SRC");
const t = performance.now();
if (mode === "build") {
  const recipe = dusk.idusRecipe({ model: "SRC", layers: c.numLayers, group: Number(group) });
  const plan = dusk.makePlan(recipe, [dusk.checkpointHeader(c)]);
  for await (const _ of dusk.buildModel(plan, [c], { output, recipeYaml: dusk.recipeToMergekitYaml(recipe), layout: "bench" })) void _;
} else {
  for await (const _ of dusk.convertCheckpoint(c, { output, type: dusk.parseConvertType(group) })) void _;
}
const seconds = (performance.now() - t) / 1000;
await c.close();
process.stdout.write(JSON.stringify({ seconds }) + "\n");
