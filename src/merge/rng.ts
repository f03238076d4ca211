// The seeded generator of random merges (DARE, DELLA, arcee_fusion's sampling): a counter-based
// hash of (seed, tensor key, input, element index), so every element's draw is a pure function of
// where it is. A merge is then the same whatever the tensor order or the number of threads, which
// mergekit's (torch's global generator) is not. Not cryptographic; uniform to 2^-32.

/** FNV-1a over UTF-16 code units, then mixed: a 32-bit digest of a string. */
function digest(text: string, salt: number): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return mix(h);
}

/** lowbias32 (Chris Wellons' hash prospector): a 32-bit bijection with low avalanche bias. */
export function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The stream of one input of one tensor: uint32 draws by element index. */
export interface KeyedStream {
  k0: number;
  k1: number;
  k2: number;
}

export function keyedStream(seed: number, key: string, input: number): KeyedStream {
  const s = Math.trunc(seed) >>> 0;
  return { k0: digest(key, s), k1: mix((s ^ 0x9e3779b9) + Math.imul(input + 1, 0x85ebca6b)), k2: digest(key, mix(s + input + 0x632be5ab)) };
}

/** The draw for element i: three keyed rounds of the mixer over the counter. */
export function drawU32(k: KeyedStream, i: number): number {
  let h = mix((i + k.k0) >>> 0);
  h = mix((h ^ k.k1) >>> 0);
  return mix((h + k.k2 + Math.floor(i / 4294967296)) >>> 0);
}

/** Uniform in [0, 1). */
export function drawUniform(k: KeyedStream, i: number): number {
  return drawU32(k, i) / 4294967296;
}
