#!/usr/bin/env python3
"""Checks the module import graph of a Rust crate's src/ (production code only).

Three rules (docs/ARCHITECTURE.md, "Layers and imports"):
  1. No cycle between top-level modules (`crate::a` uses `crate::b` and back,
     or longer loops).
  2. No child -> parent import: a file never imports an item of a module
     that encloses it, neither as `super::Item` nor as `crate::a::Item` from
     inside `a/`. A parent (`mod.rs`, or `foo.rs` with a `foo/` folder)
     declares its children and re-exports them; a type its children share
     lives in a leaf file they import as a sibling (`super::error::AmiError`).
  3. No cycle between the children of one module (`a/b.rs` uses `a/c.rs`
     and back, or longer loops).

Usage: imports.py [SRC] [--graph]
  --graph  also prints the top-level graph, one `module -> uses...` line each.

Exits 1 on any finding outside REPORT_ONLY (and, for cycles between
siblings, CYCLES_REPORT_ONLY); findings inside them are printed with
"(report only)" and do not fail the run.
"""
import os
import re
import sys

# Paths (prefixes, relative to the repository root) whose findings are
# reported but do not fail (none: every finding fails the run).
REPORT_ONLY = []

# Folders (prefixes) whose children may still import each other in a
# loop; their cycles are reported, not failed. Each entry says why.
CYCLES_REPORT_ONLY = []

IDENT = r'[A-Za-z_][A-Za-z0-9_]*'


def module_path(root, path):
    """`src/a/b.rs` -> ('a', 'b'); `src/a/mod.rs` -> ('a',); lib/main -> ()."""
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] == 'mod' or (len(rel) == 1 and rel[0] in ('lib', 'main')):
        rel = rel[:-1]
    return tuple(rel)


def test_only_children(text):
    """Child modules declared behind `#[cfg(test)]`: `(name, path)` for each
    `mod name;`, with the file a `#[path = "..."]` among its attributes names."""
    found = []
    pattern = r'#\[cfg\(test\)\]((?:\s*#\[[^\]]*\])*)\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(' + IDENT + r')\s*;'
    for m in re.finditer(pattern, text):
        path = re.search(r'#\[path\s*=\s*"([^"]+)"\]', m.group(1))
        found.append((m.group(2), path.group(1) if path else None))
    return found


def production_text(text):
    """The text without comments, string literals and the `#[cfg(test)]` tail.

    Test modules sit at the end of a file by the house style, so cutting at
    the first `#[cfg(test)]` keeps all production code.
    """
    cut = text.find('#[cfg(test)]')
    if cut >= 0:
        text = text[:cut]
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def expand(path_text):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e'] (whitespace-free input)."""
    brace = path_text.find('{')
    if brace < 0:
        return [path_text]
    head, body = path_text[:brace], path_text[brace + 1:]
    depth, start, parts = 0, 0, []
    for i, ch in enumerate(body):
        if ch == '{':
            depth += 1
        elif ch == '}':
            if depth == 0:
                parts.append(body[start:i])
                break
            depth -= 1
        elif ch == ',' and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    out = []
    for part in parts:
        if part:
            out.extend(head + p for p in expand(part))
    return out


def paths(text, prefix):
    """Every `prefix::...` path in `text`, with `{...}` groups expanded."""
    found = []
    for m in re.finditer(r'\b' + prefix + r'::', text):
        i, depth = m.end(), 0
        while i < len(text):
            ch = text[i]
            if ch == '{':
                depth += 1
            elif ch == '}':
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and not (ch.isalnum() or ch in '_:*'):
                break
            i += 1
        raw = re.sub(r'\s+as\s+' + IDENT, '', text[m.end():i])
        raw = re.sub(r'\s+', '', raw)
        found.extend(p for p in expand(raw) if p)
    return found


def main(argv):
    args = [a for a in argv if not a.startswith('--')]
    root = args[0] if args else 'src'
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith('.rs'))
    modules = {module_path(root, f): f for f in files}
    test_only, test_files = set(), set()
    for f in files:
        mp = module_path(root, f)
        with open(f, encoding='utf-8') as fh:
            for child, path in test_only_children(fh.read()):
                test_only.add(mp + (child,))
                if path:
                    test_files.add(os.path.normpath(os.path.join(os.path.dirname(f), path)))

    def is_test_only(mp, f):
        return os.path.normpath(f) in test_files or any(mp[:n] in test_only for n in range(1, len(mp) + 1))

    graph, siblings, findings = {}, {}, []
    for f in files:
        mp = module_path(root, f)
        if not mp or is_test_only(mp, f):
            continue
        with open(f, encoding='utf-8') as fh:
            text = production_text(fh.read())
        for p in paths(text, 'crate'):
            segs = p.split('::')
            if len(mp) > 1 and tuple(segs[:len(mp)]) in modules and tuple(segs[:len(mp) - 1]) == mp[:-1]:
                siblings.setdefault(mp, set()).add(tuple(segs[:len(mp)]))
            if (segs[0],) not in modules:
                # An item of lib.rs itself: every module is its child.
                findings.append((f, f'child->parent import crate::{segs[0]} (an item of the crate root)'))
                continue
            if segs[0] != mp[0]:
                graph.setdefault(mp[0], set()).add(segs[0])
                continue
            # Inside our own top-level module: walk down while the path names
            # modules; stopping at an item of an enclosing module is upward.
            prefix = ()
            for seg in segs:
                if prefix + (seg,) in modules:
                    prefix += (seg,)
                    continue
                if seg != 'self' and prefix == mp[:len(prefix)] and len(prefix) < len(mp):
                    findings.append((f, f'child->parent import crate::{"::".join(prefix)}::{seg}'))
                break
        for p in paths(text, 'super'):
            seg = p.split('::')[0]
            if seg == 'self':
                continue
            if seg in ('super', '*'):
                findings.append((f, f'child->parent import super::{p}'))
            elif mp[:-1] + (seg,) not in modules:
                findings.append((f, f'child->parent import super::{seg}'))
            else:
                siblings.setdefault(mp, set()).add(mp[:-1] + (seg,))

    for comp in strongly_connected(graph):
        findings.append((root, 'import cycle between top-level modules: ' + ' <-> '.join(sorted(comp))))
    for comp in strongly_connected(siblings):
        names = ' <-> '.join(sorted('/'.join(m) for m in comp))
        # Named after its first file, so REPORT_ONLY and CYCLES_REPORT_ONLY
        # apply when every file of the loop is listed.
        members = sorted(modules[m] for m in comp)
        findings.append((members[0], f'import cycle between sibling modules: {names}', members))

    if '--graph' in argv:
        for mod in sorted(graph):
            print(f'{mod} -> {" ".join(sorted(graph[mod]))}')
    failing = 0
    base = os.path.dirname(os.path.abspath(root))

    def listed(files, prefixes):
        return all(any(os.path.relpath(f, base).startswith(p) for p in prefixes) for f in files)

    for finding in sorted(set((f[0], f[1], tuple(f[2]) if len(f) > 2 else (f[0],)) for f in findings)):
        f, what, files = finding
        rel = os.path.relpath(f, base)
        if listed(files, REPORT_ONLY) or (len(files) > 1 and listed(files, CYCLES_REPORT_ONLY)):
            print(f'{rel}: {what} (report only)')
        else:
            print(f'{rel}: {what}')
            failing += 1
    if failing:
        print(f'{failing} import rule violation(s)', file=sys.stderr)
        return 1
    return 0


def strongly_connected(graph):
    """Tarjan's algorithm: every set of modules that import each other in a loop."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
