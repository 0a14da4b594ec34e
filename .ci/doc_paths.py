#!/usr/bin/env python3
"""Every repository path the docs name exists.

Reads README.md and docs/*.md; checks each path that starts at a top-level
folder (src/, tests/, bench/, benches/, docs/, contrib/, templates/, fuzz/,
.ci/), brace lists expanded (`sip/endpoint/{machine,requests}.rs`), and
each backticked `folder/file.rs` named relative to src/ (as the module
tables do). Prints the missing ones and exits 1 if there are any.
"""
import glob
import os
import re
import sys

TOP = r"(?:src|tests|bench|benches|docs|contrib|templates|fuzz|\.ci)/"


def expand(path):
    if "{" not in path or "}" not in path:
        return [path]
    head, rest = path.split("{", 1)
    options, tail = rest.split("}", 1)
    return [p for option in options.split(",") for p in expand(head + option + tail)]


def exists(path):
    return bool(glob.glob(path)) if "*" in path else os.path.exists(path)


def missing_in(text):
    missing = set()
    for match in re.finditer(r"(?<![\w/.])(" + TOP + r"[\w./\-{},*]+)", text):
        for path in expand(match.group(1).rstrip(".,)")):
            if not exists(path):
                missing.add(path)
    for match in re.finditer(r"`([\w]+(?:/[\w]+)*/[\w]+\.rs)`", text):
        path = match.group(1)
        if re.match(TOP, path):
            continue
        if not glob.glob("src/**/" + path, recursive=True) and not os.path.exists("src/" + path):
            missing.add(path)
    return missing


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    found = []
    for doc in ["README.md"] + sorted(glob.glob("docs/*.md")):
        with open(doc, encoding="utf-8") as file:
            found += [f"{doc}: {path}" for path in sorted(missing_in(file.read()))]
    for line in found:
        print(f"no such path: {line}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
