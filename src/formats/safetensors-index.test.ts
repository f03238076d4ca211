import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { FormatError, RecipeError } from "../errors.js";
import {
  DEFAULT_SHARD_BYTES,
  parseSafetensorsIndex,
  parseShardSize,
  planShards,
  serializeSafetensorsIndex,
  shardFileName,
} from "./safetensors-index.js";

const t = (name: string, byteLength: number) => ({ name, byteLength });

describe("planShards", () => {
  it("one shard is model.safetensors and needs no index", () => {
    const p = planShards([t("a", 10), t("b", 20)], 100);
    expect(p.shards).toEqual([{ fileName: "model.safetensors", tensorNames: ["a", "b"], byteLength: 30 }]);
    expect(p.needsIndex).toBe(false);
    expect(p.totalSize).toBe(30);
    expect(planShards([], 100).shards).toEqual([{ fileName: "model.safetensors", tensorNames: [], byteLength: 0 }]);
  });

  it("splits when the next tensor would pass the max (equal to the max still fits)", () => {
    const p = planShards([t("a", 40), t("b", 60), t("c", 1), t("d", 99), t("e", 50)], 100);
    expect(p.shards.map((s) => [s.fileName, s.tensorNames, s.byteLength])).toEqual([
      ["model-00001-of-00003.safetensors", ["a", "b"], 100],
      ["model-00002-of-00003.safetensors", ["c", "d"], 100],
      ["model-00003-of-00003.safetensors", ["e"], 50],
    ]);
    expect(p.weightMap.get("d")).toBe("model-00002-of-00003.safetensors");
    expect(p.needsIndex).toBe(true);
  });

  it("gives an oversized tensor its own shard where it is met, as huggingface_hub does", () => {
    const p = planShards([t("a", 30), t("huge", 500), t("b", 30), t("c", 50)], 100);
    expect(p.shards.map((s) => s.tensorNames)).toEqual([["huge"], ["a", "b"], ["c"]]);
    expect(p.totalSize).toBe(610);
  });

  it("refuses duplicate names and a bad max", () => {
    expect(() => planShards([t("a", 1), t("a", 1)], 10)).toThrow(RecipeError);
    expect(() => planShards([t("a", 1)], 0)).toThrow(expect.objectContaining({ code: "shard-size.invalid" }));
  });

  it("names shards with 5 digits, 1-based", () => {
    expect(shardFileName(2, 123456)).toBe("model-00002-of-123456.safetensors");
  });
});

describe("parseShardSize", () => {
  it("decimal and binary units, numbers, and the default", () => {
    expect(parseShardSize("5GB")).toBe(5_000_000_000);
    expect(parseShardSize("500MB")).toBe(500_000_000);
    expect(parseShardSize("2GiB")).toBe(2 * 2 ** 30);
    expect(parseShardSize(" 1.5 gb ".replace("gb", "GB"))).toBe(1_500_000_000);
    expect(parseShardSize("10kb".toUpperCase())).toBe(10_000);
    expect(parseShardSize("3mib")).toBe(3 * 2 ** 20);
    expect(parseShardSize("1024")).toBe(1024);
    expect(parseShardSize("1024B")).toBe(1024);
    expect(parseShardSize(4096)).toBe(4096);
    expect(DEFAULT_SHARD_BYTES).toBe(parseShardSize("5GB"));
  });
  it("refuses nonsense, bits and non-positive sizes", () => {
    for (const bad of ["", "GB", "5G", "5Gb", "5 XB", "-1GB", "0", "1e3", "5iB"]) {
      expect(() => parseShardSize(bad), bad).toThrow(expect.objectContaining({ code: "shard-size.invalid" }));
    }
    expect(() => parseShardSize(0)).toThrow(RecipeError);
    expect(() => parseShardSize(1.5)).toThrow(RecipeError);
  });
});

describe("serializeSafetensorsIndex", () => {
  const weightMap = new Map([
    ["model.layers.10.w", "model-00002-of-00002.safetensors"],
    ["model.layers.2.w", "model-00001-of-00002.safetensors"],
    ["__proto__", "model-00001-of-00002.safetensors"],
    ["é\u{1F600}\"\\\n\u0001\u007f", "model-00001-of-00002.safetensors"],
    ["\uffff", "model-00001-of-00002.safetensors"],
    ["10", "model-00001-of-00002.safetensors"],
  ]);

  const hasPython = (() => {
    try {
      execFileSync("python3", ["-c", "import json"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!hasPython)("matches Python json.dumps(indent=2, sort_keys=True) + newline", () => {
    const script = "import json,sys\nd=json.loads(sys.stdin.read())\nsys.stdout.write(json.dumps(d, indent=2, sort_keys=True) + '\\n')";
    // build the Python input with JSON.stringify from plain pairs (insertion order irrelevant: Python sorts)
    const input = `{"metadata":{"total_size":123},"weight_map":{${[...weightMap].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}}`;
    const python = execFileSync("python3", ["-c", script], { input }).toString();
    expect(serializeSafetensorsIndex({ totalSize: 123, weightMap })).toBe(python);
  });

  it("round trips through parseSafetensorsIndex", () => {
    const text = serializeSafetensorsIndex({ totalSize: 42, weightMap, extraMetadata: new Map([["total_parameters", 21]]) });
    expect(text.endsWith("}\n")).toBe(true);
    const parsed = parseSafetensorsIndex(text, "model.safetensors.index.json");
    expect(parsed.totalSize).toBe(42);
    expect(parsed.metadata.get("total_parameters")).toBe(21);
    expect(new Map([...parsed.weightMap].sort())).toEqual(new Map([...weightMap].sort()));
    expect(parsed.shardFiles.sort()).toEqual(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
    expect(serializeSafetensorsIndex({ totalSize: 0, weightMap: new Map() })).toBe('{\n  "metadata": {\n    "total_size": 0\n  },\n  "weight_map": {}\n}\n');
  });
});

describe("parseSafetensorsIndex refuses bad indexes", () => {
  const idx = (weightMap: string, metadata = `{"total_size": 8}`): string => `{"metadata": ${metadata}, "weight_map": ${weightMap}}`;
  const code = (text: string): string => {
    try {
      parseSafetensorsIndex(text, "idx.json");
    } catch (e) {
      expect(e).toBeInstanceOf(FormatError);
      expect((e as FormatError).file).toBe("idx.json");
      expect((e as FormatError).hint).toBeTruthy();
      return (e as FormatError).code;
    }
    return "ok";
  };

  it("path traversal and other non-plain shard names", () => {
    for (const name of ["../x.safetensors", "/etc/x.safetensors", "sub/x.safetensors", "..\\\\x.safetensors", "C:x.safetensors", "..", "", "x.bin", "a\\u0000.safetensors"]) {
      expect(code(idx(`{"w": "${name}"}`)), name).toBe("safetensors-index.bad-shard-name");
    }
    const e = (() => {
      try {
        parseSafetensorsIndex(idx(`{"w": "../../evil.safetensors"}`), "idx.json");
      } catch (err) {
        return err as FormatError;
      }
    })()!;
    expect(e.field).toBe("weight_map.w");
    expect(e.actual).toBe('"../../evil.safetensors"');
  });

  it("malformed structure, duplicates, bad total_size", () => {
    expect(code(`[]`)).toBe("safetensors-index.not-object");
    expect(code(`{"metadata": {}}`)).toBe("safetensors-index.bad-weight-map");
    expect(code(idx(`{"w": 3}`))).toBe("safetensors-index.bad-weight-map");
    expect(code(idx(`{"w": "a.safetensors", "w": "b.safetensors"}`))).toBe("safetensors-index.duplicate-key");
    expect(code(idx(`{}`, `{"total_size": -1}`))).toBe("safetensors-index.bad-total-size");
    expect(code(idx(`{}`, `[]`))).toBe("safetensors-index.bad-metadata");
    expect(code(`{"weight_map": {}`)).toBe("safetensors-index.invalid-json");
    expect(code(idx(`{"__proto__": "a.safetensors"}`, `null`))).toBe("ok");
  });
});
