// A fast exact encoder for SentencePiece-style BPE tokenizer.json files (Llama-2/Mistral shape,
// and dusk's generated tokenizers): "▁" prepended and spaces → "▁", no pre-tokenizer, BPE merges by
// rank with byte fallback. @huggingface/tokenizers treats a whole text as one word (~12 µs/char
// here); when no piece has a "▁" after another character, merges never cross the start of a
// "▁word", so each is encoded once and cached. Other tokenizers get undefined (use the HF one).

const SPACE = "\u2581";

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An encoder for `json` (a parsed tokenizer.json), or undefined when it is not of this shape. */
export function fastSpmBpeEncoder(json: unknown): ((text: string) => number[]) | undefined {
  if (!isPlainObject(json)) return undefined;
  const model = json.model;
  if (!isPlainObject(model) || model.type !== "BPE" || model.byte_fallback !== true || model.dropout != null) return undefined;
  if (model.continuing_subword_prefix || model.end_of_word_suffix || model.ignore_merges === true) return undefined;
  if (json.pre_tokenizer != null || !isSpmNormalizer(json.normalizer)) return undefined;
  const vocab = model.vocab;
  if (!isPlainObject(vocab) || !Array.isArray(model.merges)) return undefined;
  const ids = new Map<string, number>();
  for (const [piece, id] of Object.entries(vocab)) {
    if (typeof id !== "number") return undefined;
    // a "▁" after another character would let a merge cross a word start
    if (/[^\u2581]\u2581/u.test(piece)) return undefined;
    ids.set(piece, id);
  }
  const rank = new Map<string, number>(); // "a b" → rank
  for (let r = 0; r < model.merges.length; r++) {
    const m = model.merges[r];
    const key = typeof m === "string" ? m : Array.isArray(m) && m.length === 2 ? `${m[0]} ${m[1]}` : undefined;
    if (key === undefined) return undefined;
    if (!rank.has(key)) rank.set(key, r);
  }
  const added = Array.isArray(json.added_tokens) ? json.added_tokens.map((t) => (isPlainObject(t) && typeof t.content === "string" ? t.content : "")).filter((s) => s.length > 0) : [];
  const bytes: number[] = [];
  for (let b = 0; b < 256; b++) {
    const id = ids.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    if (id === undefined) return undefined;
    bytes.push(id);
  }
  const cache = new Map<string, number[]>();
  const encodeWord = (word: string): number[] => {
    const hit = cache.get(word);
    if (hit) return hit;
    // symbols: characters, merged by lowest rank, leftmost on ties (as HF's BPE word merge)
    let syms = Array.from(word);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = rank.get(`${syms[i]} ${syms[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) break;
      const merged = syms[best]! + syms[best + 1]!;
      const next: string[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] + syms[i + 1]! === merged && rank.get(`${syms[i]} ${syms[i + 1]}`) === bestRank) {
          next.push(merged);
          i++;
        } else next.push(syms[i]!);
      }
      syms = next;
    }
    const out: number[] = [];
    for (const s of syms) {
      const id = ids.get(s);
      if (id !== undefined) out.push(id);
      else for (const b of new TextEncoder().encode(s)) out.push(bytes[b]!);
    }
    if (cache.size < 1_000_000) cache.set(word, out);
    return out;
  };
  return (text: string): number[] => {
    if (text.length === 0) return []; // HF's Prepend normalizer leaves an empty text empty
    if (added.some((a) => text.includes(a))) throw new Error("added token in text"); // caller falls back
    const s = SPACE + text.replaceAll(" ", SPACE);
    const out: number[] = [];
    let start = 0;
    for (let i = 1; i <= s.length; i++) {
      if (i === s.length || (s[i] === SPACE && s[i - 1] !== SPACE)) {
        for (const id of encodeWord(s.slice(start, i))) out.push(id);
        start = i;
      }
    }
    return out;
  };
}

/** Llama-2's normalizer: Sequence[Prepend "▁", Replace " " → "▁"] and nothing else. */
function isSpmNormalizer(n: unknown): boolean {
  if (!isPlainObject(n) || n.type !== "Sequence" || !Array.isArray(n.normalizers) || n.normalizers.length !== 2) return false;
  const [a, b] = n.normalizers as unknown[];
  return (
    isPlainObject(a) && a.type === "Prepend" && a.prepend === SPACE &&
    isPlainObject(b) && b.type === "Replace" && isPlainObject(b.pattern) && b.pattern.String === " " && b.content === SPACE
  );
}
