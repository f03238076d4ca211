import { describe, expect, it } from "vitest";
import { jsonSafeUint, JsonNumber, JsonObject, parseStrictJson, STRICT_JSON_MAX_DEPTH } from "./safetensors-json.js";

const parse = (text: string) => parseStrictJson(Buffer.from(text, "utf8"), { file: "t.json", codePrefix: "x", baseOffset: 100 });
const codeOf = (text: string): string => {
  try {
    parse(text);
    return "ok";
  } catch (e) {
    return (e as { code: string }).code;
  }
};

describe("parseStrictJson", () => {
  it("parses what JSON.parse parses, with Map order and exact number text", () => {
    const v = parse(` {"b": [1, -2.5e+3, true, false, null], "a": "x\\u00e9\\ud83d\\ude00\\n\\/", "__proto__": {}} `);
    expect(v).toBeInstanceOf(JsonObject);
    const o = v as JsonObject;
    expect([...o.entries.keys()]).toEqual(["b", "a", "__proto__"]);
    expect(o.entries.get("a")).toBe("xé😀\n/");
    const arr = o.entries.get("b") as unknown[];
    expect((arr[1] as JsonNumber).text).toBe("-2.5e+3");
    expect(arr.slice(2)).toEqual([true, false, null]);
    expect(o.offsets.get("a")).toBe(100 + ` {"b": [1, -2.5e+3, true, false, null], `.length);
  });

  it("keeps integers past 2^53 exact as text and refuses them as safe uints", () => {
    const n = (parse(`[9007199254740993]`) as JsonValueArray)[0] as JsonNumber;
    expect(n.text).toBe("9007199254740993");
    expect(jsonSafeUint(n)).toBeUndefined();
    expect(jsonSafeUint((parse(`[12]`) as JsonValueArray)[0] as JsonNumber)).toBe(12);
    expect(jsonSafeUint((parse(`[12.0]`) as JsonValueArray)[0] as JsonNumber)).toBeUndefined();
  });

  it("refuses what JSON forbids", () => {
    for (const bad of [`{"a":1,}`, `[1,]`, `{'a':1}`, `[01]`, `[1.]`, `[.5]`, `["\t"]`, `["\\x"]`, `[tru]`, `{"a" 1}`, `[1 2]`, `"abc`, ``, `[-]`, `["\\udc00"]`, `["\\ud800x"]`]) {
      expect(codeOf(bad), bad).toBe("x.invalid-json");
    }
  });

  it("refuses duplicate keys, including escaped spellings", () => {
    expect(codeOf(`{"a":1,"a":2}`)).toBe("x.duplicate-key");
    expect(codeOf(`{"ab":1,"a\\u0062":2}`)).toBe("x.duplicate-key");
    expect(codeOf(`{"o":{"a":1},"p":{"a":1}}`)).toBe("ok");
  });

  it("refuses hostile nesting instead of overflowing the stack", () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    expect(codeOf(deep)).toBe("x.invalid-json");
    const ok = "[".repeat(STRICT_JSON_MAX_DEPTH) + "]".repeat(STRICT_JSON_MAX_DEPTH);
    expect(codeOf(ok)).toBe("ok");
  });
});

type JsonValueArray = unknown[];
