// Which repo files to fetch: patterns with huggingface_hub's allow_patterns semantics (Python
// fnmatch on the whole path: `*` also crosses '/', `?` one character, `[abc]`/`[!abc]` a class;
// a pattern ending in '/' means everything below that folder). Matching only; no I/O.

export type FileSelection = readonly string[] | ((path: string) => boolean);

function globToRegExp(pattern: string): RegExp {
  const p = pattern.endsWith("/") ? `${pattern}*` : pattern;
  let out = "";
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      const close = p.indexOf("]", i + 2);
      if (close < 0) {
        out += "\\[";
        continue;
      }
      let body = p.slice(i + 1, close);
      const negate = body.startsWith("!");
      if (negate) body = body.slice(1);
      out += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      i = close;
    } else out += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${out}$`, "s");
}

export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern) || pattern.endsWith("/");
}

export interface CompiledSelection {
  matches(path: string): boolean;
  /** plain names (no wildcard) the user asked for by name; each must exist in the repo */
  exactNames: string[];
}

export function compileSelection(selection: FileSelection | undefined): CompiledSelection {
  if (selection === undefined) return { matches: () => true, exactNames: [] };
  if (typeof selection === "function") return { matches: selection, exactNames: [] };
  const regexps = selection.map(globToRegExp);
  return {
    matches: (path) => regexps.some((r) => r.test(path)),
    exactNames: selection.filter((p) => !isGlob(p)),
  };
}
