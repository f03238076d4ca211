// Python str semantics that prompt strings depend on: strip(), rstrip() and capitalize(). JS's
// trim() and toUpperCase() differ (trim() removes U+FEFF and keeps \x1c–\x1f; "ß" upper-cases to
// "SS" where Python title-cases it to "Ss"). Not here: regexes (each task documents its own).

// Characters for which Python's str.isspace() is true.
const PY_WHITESPACE = "[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const LEADING = new RegExp(`^${PY_WHITESPACE}+`);
const TRAILING = new RegExp(`${PY_WHITESPACE}+$`);

/** Python's str.strip() with no argument. */
export function pythonStrip(s: string): string {
  return s.replace(LEADING, "").replace(TRAILING, "");
}

/** Python's str.rstrip() with no argument. */
export function pythonRstrip(s: string): string {
  return s.replace(TRAILING, "");
}

// Where Unicode's full title case differs from its full upper case (UnicodeData's titlecase field
// and SpecialCasing's title column); everything else title-cases as toUpperCase() does. ŉ is not
// here: its title case is "ʼN", the same as its upper case, so the tail must not be lower-cased.
const TITLE_CASE: ReadonlyMap<number, string> = new Map([
  // digraphs: the title-case form is the one with a capital first letter only (ǅ, ǈ, ǋ, ǲ)
  [0x01c4, "\u01c5"], [0x01c5, "\u01c5"], [0x01c6, "\u01c5"],
  [0x01c7, "\u01c8"], [0x01c8, "\u01c8"], [0x01c9, "\u01c8"],
  [0x01ca, "\u01cb"], [0x01cb, "\u01cb"], [0x01cc, "\u01cb"],
  [0x01f1, "\u01f2"], [0x01f2, "\u01f2"], [0x01f3, "\u01f2"],
  // ligatures: capital first letter, the rest small
  [0x00df, "Ss"], [0xfb00, "Ff"], [0xfb01, "Fi"], [0xfb02, "Fl"], [0xfb03, "Ffi"], [0xfb04, "Ffl"], [0xfb05, "St"], [0xfb06, "St"],
  [0x0587, "\u0535\u0582"], [0xfb13, "\u0544\u0576"], [0xfb14, "\u0544\u0565"], [0xfb15, "\u0544\u056b"], [0xfb16, "\u054e\u0576"], [0xfb17, "\u0544\u056d"],
  // Greek with ypogegrammeni: title case keeps the iota subscript (prosgegrammeni), upper case spells it out as Ι
  [0x1fb3, "\u1fbc"], [0x1fbc, "\u1fbc"], [0x1fc3, "\u1fcc"], [0x1fcc, "\u1fcc"], [0x1ff3, "\u1ffc"], [0x1ffc, "\u1ffc"],
  [0x1fb2, "\u1fba\u0345"], [0x1fb4, "\u0386\u0345"], [0x1fb7, "\u0391\u0342\u0345"],
  [0x1fc2, "\u1fca\u0345"], [0x1fc4, "\u0389\u0345"], [0x1fc7, "\u0397\u0342\u0345"],
  [0x1ff2, "\u1ffa\u0345"], [0x1ff4, "\u038f\u0345"], [0x1ff7, "\u03a9\u0342\u0345"],
]);

/** Unicode's full title-case mapping of one code point. */
function titleCase(cp: number): string {
  // Georgian Mkhedruli has upper-case forms (Mtavruli, Unicode 11) but title-cases to itself.
  if (cp >= 0x10d0 && cp <= 0x10ff) return String.fromCodePoint(cp);
  // ᾀ–ᾯ: the title case of each small/capital pair is the capital with prosgegrammeni.
  if (cp >= 0x1f80 && cp <= 0x1faf) return String.fromCodePoint(cp | 0x8);
  return TITLE_CASE.get(cp) ?? String.fromCodePoint(cp).toUpperCase();
}

const CASED = /\p{Cased}/u;
const CASE_IGNORABLE = /\p{Case_Ignorable}/u;

/**
 * Σ lower-cases to final ς when a cased letter precedes it and none follows, skipping
 * case-ignorable characters both ways (Unicode's Final_Sigma, as CPython applies it). `at` is a
 * UTF-16 index into the whole string: the first character counts as context even though
 * capitalize() title-cases it, so this cannot be left to toLowerCase() on the tail alone.
 */
function isFinalSigma(s: string, at: number): boolean {
  // Each scan stops at the first character that is not case-ignorable, so this stays linear.
  let i = at;
  let before: string | undefined;
  while (i > 0) {
    const low = s.charCodeAt(i - 1);
    const width = low >= 0xdc00 && low <= 0xdfff && i > 1 && s.charCodeAt(i - 2) >= 0xd800 && s.charCodeAt(i - 2) <= 0xdbff ? 2 : 1;
    i -= width;
    const c = s.slice(i, i + width);
    if (!CASE_IGNORABLE.test(c)) {
      before = c;
      break;
    }
  }
  if (before === undefined || !CASED.test(before)) return false;
  for (let j = at + 1; j < s.length; ) {
    const c = String.fromCodePoint(s.codePointAt(j)!);
    if (!CASE_IGNORABLE.test(c)) return !CASED.test(c);
    j += c.length;
  }
  return true;
}

/** Python's str.capitalize (3.8+): the first character title-cased, the rest lower-cased. */
export function pythonCapitalize(s: string): string {
  const first = s.codePointAt(0);
  if (first === undefined) return s;
  const headLength = first > 0xffff ? 2 : 1;
  const tail = s.slice(headLength);
  if (!tail.includes("\u03a3")) return titleCase(first) + tail.toLowerCase();
  let lowered = "";
  for (let i = headLength; i < s.length; ) {
    const ch = String.fromCodePoint(s.codePointAt(i)!);
    lowered += ch === "\u03a3" ? (isFinalSigma(s, i) ? "\u03c2" : "\u03c3") : ch.toLowerCase();
    i += ch.length;
  }
  return titleCase(first) + lowered;
}
