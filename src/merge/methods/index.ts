// Every merge method mergekit registers, by name: the kernel that computes one output tensor
// from its inputs (src/recipe/merge-methods.ts holds their parameters as data).

import { TASK_ARITHMETIC_VARIANTS } from "../../recipe/merge-methods.js";
import type { MergeKernel } from "../kernel.js";
import { arceeFusion } from "./arcee-fusion.js";
import { karcher } from "./karcher.js";
import { linear } from "./linear.js";
import { modelStock } from "./model-stock.js";
import { multislerp } from "./multislerp.js";
import { nearswap } from "./nearswap.js";
import { nuslerp } from "./nuslerp.js";
import { passthrough } from "./passthrough.js";
import { ram, ramplusTl } from "./ram.js";
import { sce } from "./sce.js";
import { slerp } from "./slerp.js";
import { taskArithmeticKernel } from "./task-arithmetic.js";

export const MERGE_KERNELS: Readonly<Record<string, MergeKernel>> = {
  linear, slerp, nuslerp, multislerp, karcher, sce, model_stock: modelStock, nearswap,
  arcee_fusion: arceeFusion, ram, ramplus_tl: ramplusTl, passthrough,
  ...Object.fromEntries(Object.keys(TASK_ARITHMETIC_VARIANTS).map((name) => [name, taskArithmeticKernel(name)])),
};
