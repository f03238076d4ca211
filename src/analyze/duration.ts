// Durations as users type them for `--budget`: "90s", "10m", "1h30m", "2.5h", "500ms". A bare
// number is refused (seconds or minutes?), as is anything past ANALYZE_LIMITS.budgetMs.

import { AnalyzeError } from "../errors.js";
import { ANALYZE_LIMITS } from "../limits.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** "10m" → 600000 (milliseconds). */
export function parseDuration(text: string, flag = "--budget"): number {
  const s = text.trim().toLowerCase();
  let ms = 0;
  let at = 0;
  PART.lastIndex = 0;
  while (at < s.length) {
    PART.lastIndex = at;
    const m = PART.exec(s);
    if (!m) break;
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = PART.lastIndex;
  }
  if (s.length === 0 || at !== s.length || !(ms > 0) || ms > ANALYZE_LIMITS.budgetMs) {
    throw new AnalyzeError("ANALYZE_BAD_DURATION", `${flag} must be a duration such as 90s, 10m or 1h30m, found ${JSON.stringify(text)}`, {
      hint: `units: ms, s, m, h, d; more than 0 and at most ${ANALYZE_LIMITS.budgetMs / UNIT_MS.d!} days`,
    });
  }
  return ms;
}
