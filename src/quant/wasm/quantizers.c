// The K-quant row quantizers (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K: every K mix llama-quantize offers),
// IQ4_NL, IQ4_XS and Q8_0 in C,
// compiled to WebAssembly (scripts/build-wasm.sh → quantizers.wasm.ts): this file, search.h,
// rows-k.h and rows-32.h, one translation unit. They compute what
// src/quant/quantize-k.ts and quant-math.ts compute, operation for operation: there every C float
// operation is replayed with Math.fround; here it is the f32 operation itself (WebAssembly's f32
// ops are IEEE with round to nearest even and no fused multiply-add, as ggml's x86-64 build
// without -march). src/quant/wasm-quant.test.ts requires equal bytes on random and edge rows, and
// the llama-quantize goldens run through this path.
//
// Each thread has its own instance and memory: the caller writes rows at `x`, the importance
// vector at `qw` (or 0), and reads the blocks back from `y`.

#include "search.h"
#include "rows-k.h"
#include "rows-32.h"

// weights (one per column, the same for every row) or 0. type: 0 Q4_K, 1 Q5_K, 2 Q6_K, 3 Q2_K,
// 4 Q3_K, 5 Q8_0 (which takes no weights), 6 IQ4_NL, 7 IQ4_XS.
EXPORT(quantize_rows) void quantize_rows(int type, const float *x, int nrows, int n, u8 *y, const float *qw) {
  static const int block_bytes[8] = {144, 176, 210, 84, 110, 34, 18, 136};
  int row_bytes = (type == 5 || type == 6 ? n / 32 : n / 256) * block_bytes[type];
  for (int r = 0; r < nrows; r++, x += n, y += row_bytes) {
    if (type == 7) row_iq4_xs(x, n, y, qw);
    else if (type == 6) row_iq4_nl(x, n, y, qw);
    else if (type == 5) row_q8_0(x, n, y);
    else if (type == 0) row_q4_k(x, n, y, qw);
    else if (type == 1) row_q5_k(x, n, y, qw);
    else if (type == 2) row_q6_k(x, n, y, qw);
    else if (type == 3) row_q2_k(x, n, y, qw);
    else row_q3_k(x, n, y, qw);
  }
}
