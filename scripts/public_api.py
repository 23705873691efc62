#!/usr/bin/env python3
"""Counts the public surface of the `mlp` crate from rustdoc's JSON output.

Walks from the crate root through public modules and re-exports, and counts every reachable
public item (modules, types, functions, traits, constants, enum variants, inherent methods and
associated items) and every public struct field. Trait-impl methods are not counted: they are
the trait's surface, not this crate's. Prints one line per item (sorted) when given `--list`,
then the totals.
"""
import json
import sys


def main():
    path = sys.argv[1]
    listing = "--list" in sys.argv
    doc = json.load(open(path))
    index = doc["index"]
    seen = set()
    lines = set()
    counts = {}

    def count(kind, name):
        counts[kind] = counts.get(kind, 0) + 1
        lines.add(f"{kind} {name}")

    def public(item):
        return item.get("visibility") == "public"

    def visit_impls(impl_ids, owner):
        for iid in impl_ids or []:
            imp = index.get(str(iid))
            if imp is None:
                continue
            inner = imp["inner"].get("impl")
            if inner is None or inner.get("trait") is not None or inner.get("blanket_impl"):
                continue
            for mid in inner.get("items", []):
                m = index.get(str(mid))
                if m is None or not public(m) or mid in seen:
                    continue
                seen.add(mid)
                kind = next(iter(m["inner"]))
                count(kind if kind != "function" else "method", f"{owner}::{m.get('name')}")

    def visit(iid, path):
        item = index.get(str(iid))
        if item is None:
            return
        kind = next(iter(item["inner"]))
        inner = item["inner"][kind]
        if kind == "use":
            target = inner.get("id")
            name = inner.get("name")
            if target is not None and str(target) in index and not inner.get("is_glob"):
                visit(target, f"{path}::{name}")
            elif inner.get("is_glob") and target is not None and str(target) in index:
                mod = index[str(target)]["inner"].get("module")
                if mod:
                    for c in mod["items"]:
                        visit(c, path)
            else:
                if iid not in seen:
                    seen.add(iid)
                    count("reexport", f"{path}::{name}")
            return
        if iid in seen:
            return
        if not public(item):
            return
        seen.add(iid)
        name = item.get("name") or ""
        here = f"{path}::{name}" if path else name
        count(kind, here)
        if kind == "module":
            for c in inner["items"]:
                visit(c, here)
        elif kind == "struct":
            k = inner["kind"]
            fields = []
            if isinstance(k, dict) and "plain" in k:
                fields = k["plain"]["fields"]
            elif isinstance(k, dict) and "tuple" in k:
                fields = [f for f in k["tuple"] if f is not None]
            for f in fields:
                fi = index.get(str(f))
                if fi is not None and public(fi):
                    count("field", f"{here}::{fi.get('name')}")
            visit_impls(inner.get("impls"), here)
        elif kind == "union":
            for f in inner.get("fields", []):
                fi = index.get(str(f))
                if fi is not None and public(fi):
                    count("field", f"{here}::{fi.get('name')}")
            visit_impls(inner.get("impls"), here)
        elif kind == "enum":
            for v in inner["variants"]:
                vi = index.get(str(v))
                if vi is None:
                    continue
                count("variant", f"{here}::{vi.get('name')}")
                vk = vi["inner"]["variant"]["kind"]
                if isinstance(vk, dict) and "struct" in vk:
                    for f in vk["struct"]["fields"]:
                        fi = index.get(str(f))
                        if fi is not None:
                            count("field", f"{here}::{vi.get('name')}::{fi.get('name')}")
            visit_impls(inner.get("impls"), here)
        elif kind == "trait":
            for t in inner.get("items", []):
                ti = index.get(str(t))
                if ti is not None:
                    count("trait_item", f"{here}::{ti.get('name')}")

    visit(doc["root"], "")
    if listing:
        for line in sorted(lines):
            print(line)
    total = sum(counts.values())
    fields = counts.get("field", 0)
    print("kinds: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    print(f"public items: {total - fields}  public fields: {fields}  total: {total}")


if __name__ == "__main__":
    main()
