// The README model card of a built HF model: what the layout is, where each layer came from,
// its layer-distance metrics, and the command that rebuilds it.

import type { Plan } from "../plan/types.js";

export interface ModelCardInput {
  plan: Plan;
  layout: string;
  command: string;
  recipeYaml: string;
}

export function modelCard({ plan, layout, command, recipeYaml }: ModelCardInput): string {
  const m = plan.metrics;
  const bases = plan.sources.map((s) => s.ref);
  const rows = plan.layers.map((l, i) => `| ${i} | ${plan.sources[l.source]!.ref} | ${l.layer} |`).join("\n");
  return `---
base_model:
${bases.map((b) => `- ${b}`).join("\n")}
library_name: transformers
tags:
- dusk
- depth-up-scaling
- merge
---
# ${plan.layers.length}-layer ${plan.arch} stack

Built with [dusk](https://www.npmjs.com/package/dusk), the Depth Up-Scaling Kit, by stacking decoder
layers of ${bases.join(" and ")} (passthrough; no weights were averaged). It has not been trained
after stacking unless stated elsewhere.

Layout (base-layer indices): **${layout}**

| metric | value |
|---|---|
| layers | ${m.numLayers} |
| seams (adjacent layers that are not a +1 continuation) | ${m.seams} |
| largest backward jump | ${m.largestBackwardJump} |
| largest forward jump | ${m.largestForwardJump} |
| mean absolute jump | ${m.meanAbsJump.toFixed(2)} |
| base layers used more than once | ${m.reusedLayers.length} |
| parameters | ${m.parameterCount.toLocaleString("en-US")} (base: ${m.baseParameterCount.toLocaleString("en-US")}) |

## Reproduce

\`\`\`sh
${command}
\`\`\`

## Recipe (mergekit passthrough)

\`\`\`yaml
${recipeYaml.trimEnd()}
\`\`\`

<details><summary>Layer map</summary>

| output layer | source | source layer |
|---|---|---|
${rows}

</details>
`;
}
