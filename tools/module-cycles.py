#!/usr/bin/env python3
"""Fails when a module of src/ imports a module that imports it, directly or through others.

    tools/module-cycles.py [src]

A module is a file (`src/a/b.rs` or `src/a/b/mod.rs` is `a::b`, `src/lib.rs` is the root). An
import is a `use` (or a path in code) naming `crate::…`, `super::…` or `self::…`; it points at the
longest known module prefix of that path, and through a re-export (`pub use x::Name`) to the
module that defines the name. A parent that declares and re-exports its children is the layout of
a crate, not a cycle: imports from a module to its own descendants are ignored, so what is
reported is a module that depends on one that (through any chain) depends on it back.
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "src")
modules = {}
for f in root.rglob("*.rs"):
    parts = list(f.relative_to(root).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    modules[tuple(parts)] = f.read_text()


def reexports(m, text):
    """Names `m` re-exports (`pub use path::Name`, `pub use path::{A, B}`), with their path."""
    out = {}
    for hit in re.finditer(r"pub(?:\([^)]*\))?\s+use\s+([\w:]+?)(?:::\{([^}]*)\}|::(\w+))\s*;", text):
        prefix, group, single = hit.groups()
        for name in (group.split(",") if group else [single]):
            name = name.strip().split(" as ")[-1].strip()
            if name and name != "self":
                path = prefix if prefix.split("::")[0] in ("crate", "super", "self") else "self::" + prefix
                out[name] = path + "::" + name.strip()
    return out


exports = {m: reexports(m, text) for m, text in modules.items()}


def resolve(me, path, depth=0):
    """The module a `crate::`/`super::`/`self::` path names (its longest known prefix, through
    re-exports)."""
    segs = path.split("::")
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    elif segs[0] in ("super", "self"):
        base = list(me)
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
    else:
        return None
    best, rest = tuple(base), segs
    for i in range(len(segs)):
        cand = tuple(base + segs[: i + 1])
        if cand in modules:
            best, rest = cand, segs[i + 1 :]
    if rest and rest[0] in exports.get(best, {}) and depth < 8:
        return resolve(best, exports[best][rest[0]], depth + 1)
    return best


edges = {m: set() for m in modules}
pattern = re.compile(r"\b((?:crate|super|self)(?:::\w+)+)")
for m, text in modules.items():
    # leave out comments and the test modules of a file
    code = "\n".join(l for l in text.split("\n") if not l.strip().startswith("//"))
    code = code.split("#[cfg(test)]")[0]
    # grouped imports `use crate::a::{b, c::d}` name each inner path
    for group in re.finditer(r"use\s+((?:crate|super|self)(?:::\w+)*)::\{([^}]*)\}", code):
        for inner in group.group(2).split(","):
            inner = inner.strip().split(" as ")[0]
            if inner and inner != "self":
                target = resolve(m, group.group(1) + "::" + inner)
                if target is not None:
                    edges[m].add(target)
    for hit in pattern.finditer(code):
        target = resolve(m, hit.group(1))
        if target is not None:
            edges[m].add(target)
for m in edges:
    # a module's own descendants and itself are its layout, not dependencies
    edges[m] = {t for t in edges[m] if t[: len(m)] != m}


def reach(start):
    seen, todo = set(), [start]
    while todo:
        for t in edges[todo.pop()]:
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


name = lambda m: "::".join(("crate",) + m)
cycles = sorted({(a, b) for a in edges for b in edges[a] if a in reach(b)})
for a, b in cycles:
    print(f"{name(a)} imports {name(b)}, which imports {name(a)} (directly or through others)")
print(f"{len(modules)} modules, {sum(len(e) for e in edges.values())} imports, {len(cycles)} cycles")
sys.exit(1 if cycles else 0)
