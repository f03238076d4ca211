// The common view of a stored tensor, whichever format holds it: what plans read and builds copy.

import type { ByteSource } from "./byte-source.js";
import type { TensorTypeInfo } from "./tensor-types.js";

export interface TensorEntry {
  /** the name in its own file: `model.layers.0.self_attn.q_proj.weight` or `blk.0.attn_q.weight` */
  name: string;
  type: TensorTypeInfo;
  /**
   * Outermost dimension first, in both formats (an HF Linear weight is [out, in]). GGUF stores
   * dims innermost first; its reader and writer reverse them so everything above sees one order.
   */
  shape: number[];
  /** absolute offset of the first byte in `source` */
  offset: number;
  byteLength: number;
  source: ByteSource;
}
