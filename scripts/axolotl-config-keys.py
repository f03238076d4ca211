#!/usr/bin/env python3
"""Extracts the option names and value types of axolotl's YAML config from its pydantic schema
source at one git tag, for test/fixtures/axolotl/: the keys `dusk heal --export axolotl` may emit
are checked against this list (src/train/axolotl/config.test.ts). Reads the source with `ast`;
nothing of axolotl is imported or run, and no descriptions are copied (names and types only).

usage: scripts/axolotl-config-keys.py AXOLOTL_GIT_DIR TAG [NESTED,MODELS] > test/fixtures/axolotl/vX-config-keys.json

The root model's fields are all kept; of the nested models only those named (default: the ones
dusk emits into) get their field lists, so the fixture stays small. A key emitted into a nested
model left out fails the test, which says to extract again with that model named.
"""

import ast
import json
import subprocess
import sys

SCHEMA_DIR = "src/axolotl/utils/schemas"
ROOT = "AxolotlInputConfig"
SCALARS = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "Any": "any", "None": "null", "dict": "object", "Dict": "object"}


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def main(repo, tag, keep):
    commit = git(repo, "rev-list", "-n1", tag).strip()
    files = [f for f in git(repo, "ls-tree", "-r", "--name-only", tag, SCHEMA_DIR).split() if f.endswith(".py")]
    classes = {}  # name -> ast.ClassDef
    for f in files:
        for node in ast.parse(git(repo, "show", f"{tag}:{f}")).body:
            if isinstance(node, ast.ClassDef):
                classes[node.name] = node

    def base_names(c):
        return [b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else None for b in c.bases]

    def is_enum(name):
        c = classes.get(name)
        return c is not None and any(b in ("Enum", "str") for b in base_names(c)) and "BaseModel" not in base_names(c)

    def is_model(name):
        seen, todo = set(), [name]
        while todo:
            n = todo.pop()
            if n == "BaseModel":
                return True
            if n in seen or n not in classes:
                continue
            seen.add(n)
            todo.extend(b for b in base_names(classes[n]) if b)
        return False

    models, enums, wanted = {}, {}, [ROOT]

    def annotation(node):
        """A type union as a list of alternatives."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return annotation(node.left) + annotation(node.right)
        if isinstance(node, ast.Constant):
            if node.value is None:
                return ["null"]
            if isinstance(node.value, str):  # a forward reference
                return annotation(ast.parse(node.value, mode="eval").body)
        if isinstance(node, ast.Name):
            if node.id in SCALARS:
                return [SCALARS[node.id]]
            if node.id in ("list", "List"):
                return [{"list": ["any"]}]
            if is_model(node.id):
                wanted.append(node.id)
                return [{"model": node.id}]
            if is_enum(node.id):
                enums[node.id] = enum_values(classes[node.id])
                return [{"enum": node.id}]
            return [{"ref": node.id}]  # a type defined outside the schema package
        if isinstance(node, ast.Subscript):
            head = node.value.id if isinstance(node.value, ast.Name) else getattr(node.value, "attr", "")
            args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if head == "Optional":
                return annotation(args[0]) + ["null"]
            if head == "Union":
                return [t for a in args for t in annotation(a)]
            if head == "Annotated":
                return annotation(args[0])
            if head in ("list", "List", "set", "tuple"):
                return [{"list": annotation(args[0])}]
            if head in ("dict", "Dict"):
                return ["object"]
            if head == "Literal":
                return [{"literal": [a.value for a in args if isinstance(a, ast.Constant)]}]
        return ["any"]

    def enum_values(c):
        out = []
        for s in c.body:
            if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant):
                out.append(s.value.value)
        return out

    def field_info(stmt, deprecated_class):
        info = {"type": annotation(stmt.annotation)}
        call = stmt.value if isinstance(stmt.value, ast.Call) else None
        aliases = []
        if call is not None and getattr(call.func, "id", getattr(call.func, "attr", "")) == "Field":
            for kw in call.keywords:
                if kw.arg == "deprecated":
                    info["deprecated"] = True
                if kw.arg in ("alias", "validation_alias"):
                    v = kw.value
                    if isinstance(v, ast.Constant) and isinstance(v.value, str):
                        aliases.append(v.value)
                    elif isinstance(v, ast.Call):  # AliasChoices("a", "b")
                        aliases.extend(a.value for a in v.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
        if deprecated_class:
            info["deprecated"] = True
        if aliases:
            info["aliases"] = sorted(set(aliases))
        return info

    def fields(name):
        out = {}
        c = classes[name]
        # bases first (Python's MRO puts the class itself first, so its own fields win)
        for b in reversed(base_names(c)):
            if b in classes and is_model(b):
                out.update(fields(b))
        for s in c.body:
            if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name):
                n = s.target.id
                if n == "model_config" or n.startswith("_"):
                    continue
                ann = ast.unparse(s.annotation)
                if ann.startswith("ClassVar"):
                    continue
                out[n] = field_info(s, name == "DeprecatedParameters")
        return out

    while wanted:
        name = wanted.pop()
        if name not in models:
            models[name] = None  # placeholder against cycles
            models[name] = dict(sorted(fields(name).items()))

    kept = {k: v for k, v in models.items() if k == ROOT or k in keep}
    used_enums = {e for m in kept.values() for f in m.values() for e in enum_refs(f["type"])}
    doc = {
            "provenance": {
                "repo": "https://github.com/axolotl-ai-cloud/axolotl",
                "tag": tag,
                "commit": commit,
                "files": sorted(files),
                "version": git(repo, "show", f"{tag}:VERSION").strip(),
                # the ZeRO configs that `axolotl fetch deepspeed_configs` copies out at this version
                "deepspeedConfigs": sorted(git(repo, "ls-tree", "--name-only", tag, "deepspeed_configs/").split()),
                "extractedBy": "scripts/axolotl-config-keys.py (option names, aliases, value types and deprecation from the pydantic models; no descriptions)",
            },
            "root": ROOT,
            "models": dict(sorted(kept.items())),
            "omittedModels": sorted(k for k in models if k not in kept),
            "enums": {k: v for k, v in sorted(enums.items()) if k in used_enums},
    }
    # one line per field, so a diff between two versions reads as a list of option changes
    out = ["{"]
    out.append(f' "provenance": {json.dumps(doc["provenance"])},')
    out.append(f' "root": {json.dumps(ROOT)},')
    out.append(' "models": {')
    for mi, (m, fs) in enumerate(doc["models"].items()):
        out.append(f"  {json.dumps(m)}: {{")
        for fi, (f, info) in enumerate(fs.items()):
            out.append(f"   {json.dumps(f)}: {json.dumps(info)}{',' if fi < len(fs) - 1 else ''}")
        out.append(f"  }}{',' if mi < len(doc['models']) - 1 else ''}")
    out.append(" },")
    out.append(f' "omittedModels": {json.dumps(doc["omittedModels"])},')
    out.append(f' "enums": {json.dumps(doc["enums"])}')
    out.append("}")
    sys.stdout.write("\n".join(out) + "\n")


def enum_refs(union):
    for t in union:
        if isinstance(t, dict) and "enum" in t:
            yield t["enum"]
        if isinstance(t, dict) and "list" in t:
            yield from enum_refs(t["list"])


if __name__ == "__main__":
    default = "FSDPConfig,PretrainingDataset,SFTDataset,SpecialTokensConfig,UserDefinedPrompterType"
    main(sys.argv[1], sys.argv[2], set((sys.argv[3] if len(sys.argv) > 3 else default).split(",")))
