#!/usr/bin/env python3
"""The import graph of src/, by top-level module, and its rules.

    python3 scripts/imports.py            # check; print the graph as text
    python3 scripts/imports.py --dot      # the graph in Graphviz DOT
    python3 scripts/imports.py --src DIR  # another tree (the script's own test)

Each module sits in a layer; an import may only point to the same layer or
a lower one, and the graph has no cycle. The test suite runs this script
(tests/suite/layers.rs), so a violation fails `cargo test`.
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

# Lowest first. The data flows upwards: content -> manifests -> values ->
# runbook -> {render, check} -> {output, cluster} -> {run, serve} -> cmd.
LAYERS = [
    ["error", "code", "diagnostic", "yaml", "config", "diff", "suggest"],
    ["content"],
    ["manifests", "schema", "cnpg"],
    ["values", "project"],
    ["runbook"],
    ["render", "check"],
    ["output", "cluster"],
    ["run", "serve"],
    ["cli"],
    ["cmd"],
    # Test-only: the fuzz targets call every parser.
    ["fuzz"],
]
LAYER = {m: i for i, layer in enumerate(LAYERS) for m in layer}


def module_of(path):
    rel = os.path.relpath(path, SRC)
    first = rel.split(os.sep)[0]
    return first[:-3] if first.endswith(".rs") else first


def imports(text):
    """Top-level modules named by `crate::x` paths (in use lines and in code),
    test modules excluded."""
    text = text.split("#[cfg(test)]")[0]
    text = re.sub(r"//[^\n]*", "", text)
    found = set(re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", text))
    # `use crate::{a, b::c}` groups
    for group in re.findall(r"use crate::\{([^}]*)\}", text, re.S):
        for part in group.split(","):
            name = part.strip().split("::")[0].strip()
            if name and name != "self":
                found.add(name)
    return found


def graph():
    edges = {}
    for d, _, files in os.walk(SRC):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(d, f)
            m = module_of(path)
            if m in ("lib", "main"):
                continue
            with open(path, encoding="utf-8") as fh:
                deps = imports(fh.read())
            edges.setdefault(m, set()).update(x for x in deps if x != m)
    return edges


def cycles(edges):
    seen, stack, out = set(), [], []

    def visit(n):
        if n in stack:
            out.append(stack[stack.index(n):] + [n])
            return
        if n in seen:
            return
        seen.add(n)
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            visit(m)
        stack.pop()

    for n in sorted(edges):
        visit(n)
    return out


def main():
    global SRC
    if "--src" in sys.argv:
        SRC = sys.argv[sys.argv.index("--src") + 1]
    edges = graph()
    problems = []
    for m in sorted(edges):
        if m not in LAYER:
            problems.append("module `%s` has no layer in scripts/imports.py" % m)
    for m, deps in sorted(edges.items()):
        for d in sorted(deps):
            if d not in LAYER:
                problems.append("`%s` imports `%s`, which is not a module of src/" % (m, d))
            elif m in LAYER and LAYER[d] > LAYER[m]:
                problems.append("`%s` (layer %d) imports `%s` (layer %d): upward" % (m, LAYER[m], d, LAYER[d]))
    for c in cycles(edges):
        problems.append("cycle: " + " -> ".join(c))
    if "--dot" in sys.argv:
        print("digraph imports {\n  rankdir=BT;")
        for i, layer in enumerate(LAYERS):
            print("  { rank=same; %s }" % " ".join('"%s"' % m for m in layer if m in edges))
        for m, deps in sorted(edges.items()):
            for d in sorted(deps):
                print('  "%s" -> "%s";' % (m, d))
        print("}")
    else:
        for i, layer in enumerate(LAYERS):
            for m in layer:
                if m in edges:
                    print("%d %-11s -> %s" % (i, m, ", ".join(sorted(edges[m])) or "-"))
    for p in problems:
        print("error: " + p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
