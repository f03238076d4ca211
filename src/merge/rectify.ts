// Embedding matrices of different vocabularies, cut to a common shape the way mergekit does:
// rectify_embed_sizes takes the largest common submatrix (most methods), get_task_vectors cuts
// every model to the base's rows (task arithmetic family). The planner picks the shape.

/** The leading [rows, cols] block of a row-major [inRows, inCols] matrix. */
export function submatrix(x: Float32Array, inShape: readonly number[], shape: readonly number[]): Float32Array {
  if (inShape.length !== 2 || shape.length !== 2) return x;
  const [rows, cols] = shape as [number, number];
  const inCols = inShape[1]!;
  if (inShape[0] === rows && inCols === cols) return x;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) out.set(x.subarray(i * inCols, i * inCols + cols), i * cols);
  return out;
}
