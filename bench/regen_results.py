"""Reads what one bench run printed into result rows: (name, {key: value}).

The bench scripts print `RESULT <name> key=value …` lines (see
bench/server_under_test.sh); ../shared/peers/sbs.sh prints `SBS <server>
key=value …`; benches/notify_latency.rs prints two fixed lines; criterion
benches write target/criterion/**/new/estimates.json. Nothing else of a
bench's prose is read."""

import glob
import json
import os
import re

UNIT_MS = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}


def number(text):
    """Numbers as numbers, everything else as it is."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def key_values(text):
    return {k: number(v) for k, v in re.findall(r"(\w+)=(\S*)", text)}


def result_lines(output):
    return [(m.group(1), key_values(m.group(2)))
            for m in re.finditer(r"^RESULT (\w+) ?(.*)$", output, re.M)]


def sbs_lines(output):
    rows = [("sbs", dict(server=m.group(1), **key_values(m.group(2))))
            for m in re.finditer(r"^SBS (\w+) (.*)$", output, re.M)]
    # Kamailio's wall time comes from peers/sipp_summary.py's line.
    kam = re.search(r"calls ok=\d+ failed=\d+ elapsed=([0-9.]+)s calls/s=(\d+)", output)
    for name, row in rows:
        if row["server"] == "kamailio" and kam:
            row["wall"] = float(kam.group(1))
    return rows


def duration_ms(text):
    n, unit = re.fullmatch(r"([0-9.]+)(ns|µs|us|ms|s)", text).groups()
    return float(n) * UNIT_MS[unit]


def notify_latency_lines(output):
    head = re.search(r"(\d+) watchers \((\d+) subscribed\) of (\d+) lines; (\d+) changes offered at (\d+)/s, "
                     r"achieved (\d+)/s, (\d+) refused; (\d+) NOTIFYs", output)
    tail = re.search(r"change -> NOTIFY: p50 (\S+)\s+p90 (\S+)\s+p99 (\S+)\s+max (\S+)", output)
    if not head or not tail:
        return []
    keys = ["watchers", "subscribed", "lines", "changes", "offered_rate", "achieved_rate", "refused", "notifies"]
    row = {k: int(v) for k, v in zip(keys, head.groups())}
    for k, v in zip(["p50_ms", "p90_ms", "p99_ms", "max_ms"], tail.groups()):
        row[k] = round(duration_ms(v), 3)
    return [("notify_latency", row)]


def criterion_lines(target_dir, since):
    """Every criterion benchmark whose estimates were written after `since`
    (so a run that measured nothing reports nothing, not old files)."""
    rows = []
    for path in sorted(glob.glob(os.path.join(target_dir, "criterion", "**", "new", "estimates.json"),
                                 recursive=True)):
        if os.path.getmtime(path) < since:
            continue
        folder = os.path.dirname(path)
        estimates = json.load(open(path))
        meta = json.load(open(os.path.join(folder, "benchmark.json")))
        samples = json.load(open(os.path.join(folder, "sample.json")))
        median = estimates["median"]
        rows.append(("criterion", {
            "id": meta.get("full_id") or meta.get("title"),
            "median_ns": median["point_estimate"],
            "low_ns": median["confidence_interval"]["lower_bound"],
            "high_ns": median["confidence_interval"]["upper_bound"],
            "samples": len(samples.get("iters", [])),
        }))
    return rows


def parse(kind, output, target_dir, since):
    if kind == "sbs":
        return sbs_lines(output)
    if kind == "notify_latency":
        return notify_latency_lines(output)
    if kind == "criterion":
        return criterion_lines(target_dir, since)
    return result_lines(output)
