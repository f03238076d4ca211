// Typed, position-aware access to a parsed YAML document for recipe import: every failure is a
// RecipeError naming file:line:col and the path (`slices[3].sources[0].layer_range`). It knows
// YAML node shapes, not mergekit semantics (those live in mergekit-import.ts).

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type YAMLMap, type YAMLSeq } from "yaml";
import { RecipeError } from "../errors.js";
import { LIMITS, RECIPE_YAML_NODE_LIMIT } from "../limits.js";

/** A key that mergekit knows but dusk does not support, with why and what to do instead. */
export interface UnsupportedKey {
  why: string;
  hint: string;
}

export class YamlRecipeReader {
  readonly doc: Document;
  private readonly lines = new LineCounter();
  private visited = 0;

  constructor(
    text: string,
    readonly file: string | undefined,
  ) {
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > LIMITS.recipeBytes) {
      throw new RecipeError("RECIPE_TOO_LARGE", `the recipe is ${bytes} bytes, more than the limit of ${LIMITS.recipeBytes}`, {
        file,
        hint: "a passthrough recipe is a few KB; is this the right file?",
      });
    }
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: true, uniqueKeys: true });
    const first = this.doc.errors[0];
    if (first !== undefined) {
      const at = first.linePos?.[0];
      // yaml's pretty message repeats "at line L, column C:" and a code frame; we lead with file:L:C.
      const message = (first.message.split("\n")[0] ?? first.message).replace(/ at line \d+, column \d+:?$/, "");
      throw new RecipeError("RECIPE_YAML_SYNTAX", `YAML syntax error: ${message}`, {
        file,
        line: at?.line,
        col: at?.col,
        hint: "check indentation (spaces, not tabs), `key: value` pairs and `- ` list items near this position",
        cause: first,
      });
    }
  }

  /** 1-based line and column of a node (line 1, col 1 when the node has no range). */
  position(node: Node | null | undefined): { line: number; col: number } {
    const offset = node?.range?.[0];
    if (offset === undefined) return { line: 1, col: 1 };
    const pos = this.lines.linePos(offset);
    return pos.line === 0 ? { line: 1, col: offset + 1 } : pos;
  }

  fail(code: string, what: string, path: string, node: Node | null | undefined, hint?: string): never {
    throw new RecipeError(code, what, { file: this.file, path, ...this.position(node), hint });
  }

  /** Follows aliases, counting every node visited against RECIPE_YAML_NODE_LIMIT. */
  resolve(node: unknown, path: string): Node | null {
    this.visited++;
    if (this.visited > RECIPE_YAML_NODE_LIMIT) {
      this.fail("RECIPE_TOO_LARGE", `the recipe expands to more than ${RECIPE_YAML_NODE_LIMIT} YAML nodes`, path, null, "remove deeply nested anchors/aliases");
    }
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (target === undefined) this.fail("RECIPE_YAML_SYNTAX", `alias *${node.source} has no anchor`, path, node);
      return target;
    }
    return (node ?? null) as Node | null;
  }

  /** What a node is, for "found …" messages. */
  describe(node: Node | null): string {
    if (node === null) return "nothing (null)";
    if (isMap(node)) return "a mapping";
    if (isSeq(node)) return `a list of ${node.items.length}`;
    if (isScalar(node)) {
      const v = node.value;
      if (v === null) return "null";
      return typeof v === "string" ? `the string "${v.length > 60 ? `${v.slice(0, 60)}…` : v}"` : `${typeof v} ${String(v)}`;
    }
    return "an unexpected node";
  }

  /**
   * A mapping's entries by key. Keys in `unsupported` fail with their reason; any other key not
   * in `allowed` fails naming the key, the allowed keys, and the nearest one if it looks like a typo.
   */
  mapping(
    node: Node | null,
    path: string,
    allowed: readonly string[],
    unsupported: Readonly<Record<string, UnsupportedKey>> = {},
    unknownHint = "remove it or fix its spelling; dusk never ignores a key",
  ): Map<string, { keyNode: Node; value: Node | null }> {
    if (!isMap(node)) this.fail("RECIPE_TYPE", `${path || "the recipe"} must be a mapping of keys, found ${this.describe(node)}`, path, node);
    const entries = new Map<string, { keyNode: Node; value: Node | null }>();
    for (const pair of (node as YAMLMap).items) {
      const keyNode = this.resolve(pair.key, path);
      const key = isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof key !== "string") this.fail("RECIPE_TYPE", `keys must be plain strings, found ${this.describe(keyNode)}`, path, keyNode ?? node);
      const keyPath = path ? `${path}.${key}` : key;
      const reason = Object.hasOwn(unsupported, key) ? unsupported[key] : undefined;
      if (reason !== undefined) this.fail("RECIPE_UNSUPPORTED", `\`${key}\` is not supported: ${reason.why}`, keyPath, keyNode, reason.hint);
      if (!allowed.includes(key)) {
        const near = nearestKey(key, allowed);
        this.fail(
          "RECIPE_UNKNOWN_KEY",
          `unknown key \`${key}\` in ${path || "the top level"}; allowed: ${allowed.join(", ")}`,
          keyPath,
          keyNode,
          near === undefined ? unknownHint : `did you mean \`${near}\`?`,
        );
      }
      entries.set(key, { keyNode: keyNode as Node, value: this.resolve(pair.value, keyPath) });
    }
    return entries;
  }

  sequence(node: Node | null, path: string, what: string): (Node | null)[] {
    if (!isSeq(node)) this.fail("RECIPE_TYPE", `${path} must be a list (${what}), found ${this.describe(node)}`, path, node);
    return (node as YAMLSeq).items.map((item, i) => this.resolve(item, `${path}[${i}]`));
  }

  string(node: Node | null, path: string, hint?: string): string {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== "string" || v.length === 0) this.fail("RECIPE_TYPE", `${path} must be a non-empty string, found ${this.describe(node)}`, path, node, hint);
    return v;
  }

  finiteNumber(node: Node | null, path: string, hint?: string): number {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail("RECIPE_TYPE", `${path} must be a finite number, found ${this.describe(node)}`, path, node, hint);
    return v;
  }

  isNull(node: Node | null): boolean {
    return node === null || (isScalar(node) && node.value === null);
  }
}

/** The allowed key within edit distance 2 of `key`, if any (typo suggestions). */
function nearestKey(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(key.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64 || b.length > 64) return 99;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 99;
}
