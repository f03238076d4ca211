// The known families, one table per file. Order matters where two tables share a GGUF name:
// the first is the one a GGUF opens as (gemma3 before its multimodal variant).

import type { Architecture } from "../architecture.js";
import { GEMMA } from "./gemma.js";
import { GEMMA2 } from "./gemma2.js";
import { GEMMA3, GEMMA3_MULTIMODAL } from "./gemma3.js";
import { LLAMA } from "./llama.js";
import { PHI3 } from "./phi3.js";
import { QWEN2 } from "./qwen2.js";
import { QWEN3 } from "./qwen3.js";

export { GEMMA, GEMMA2, GEMMA3, GEMMA3_MULTIMODAL, LLAMA, PHI3, QWEN2, QWEN3 };

export const FAMILIES: readonly Architecture[] = [LLAMA, QWEN2, QWEN3, GEMMA, GEMMA2, GEMMA3, GEMMA3_MULTIMODAL, PHI3];
