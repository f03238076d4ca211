// Python str semantics that prompt strings depend on: strip() and capitalize(). JS's trim() and
// toUpperCase() differ (trim() removes U+FEFF and keeps \x1c–\x1f; "ß" capitalizes to "Ss").
// Not here: regexes (each task documents its own Python-vs-JS differences).

// Characters for which Python's str.isspace() is true.
const PY_WHITESPACE = "[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const LEADING = new RegExp(`^${PY_WHITESPACE}+`);
const TRAILING = new RegExp(`${PY_WHITESPACE}+$`);

/** Python's str.strip() with no argument. */
export function pythonStrip(s: string): string {
  return s.replace(LEADING, "").replace(TRAILING, "");
}

// Code points whose title case differs from their upper case (capitalize title-cases since 3.8).
const TITLE_CASE: ReadonlyMap<string, string> = new Map([
  ["\u01c4", "\u01c5"], ["\u01c5", "\u01c5"], ["\u01c6", "\u01c5"],
  ["\u01c7", "\u01c8"], ["\u01c8", "\u01c8"], ["\u01c9", "\u01c8"],
  ["\u01ca", "\u01cb"], ["\u01cb", "\u01cb"], ["\u01cc", "\u01cb"],
  ["\u01f1", "\u01f2"], ["\u01f2", "\u01f2"], ["\u01f3", "\u01f2"],
]);

/** Python's str.capitalize: the first character title-cased, the rest lower-cased. */
export function pythonCapitalize(s: string): string {
  const first = s.codePointAt(0);
  if (first === undefined) return s;
  const head = String.fromCodePoint(first);
  const rest = s.slice(head.length).toLowerCase();
  const title = TITLE_CASE.get(head);
  if (title !== undefined) return title + rest;
  const upper = head.toUpperCase();
  // "ß" → "SS" in upper case but "Ss" in title case: keep the first character, lower the others.
  const upperHead = String.fromCodePoint(upper.codePointAt(0)!);
  return upperHead + upper.slice(upperHead.length).toLowerCase() + rest;
}
