#!/usr/bin/env python3
"""Regenerates docs/BENCHMARKS.md from the current code: builds once, runs
every bench (regen_benches.py) one after the other, each once and under a
time limit, and writes the document from scratch — a header saying how it
was made, one table per run with its command, date and load average, and
issue 16's targets as met / not met. A bench that fails, times out or
prints no result is written as FAILED with the reason, and the script then
exits 1; nothing from an earlier document is kept.

  bench/regenerate.sh [--tiny | --smoke] [--only KEY,…] [--out PATH]

--tiny: every bench at its smoke size (figures mean nothing; the output
  goes to target/bench-regen/BENCHMARKS-tiny.md unless --out says where).
--smoke: --tiny without Kamailio (no sbs.sh; fanout.sh without its
  Kamailio half), and benches needing ../shared/peers are skipped when it
  is absent; what .ci/run calls.
--only: run just these keys (the others are written as not run)."""

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from regen_benches import TINY_TIMEOUT, benches, find_peers, uncovered  # noqa: E402
from regen_document import document  # noqa: E402
from regen_results import parse  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The whole run, build included: a bench that would start later is written
# as FAILED rather than let a stuck machine run for hours (each bench has
# its own limit too; a quiet 2-core machine needs ~15–25 min in all).
BUDGET = 45 * 60


@dataclass
class Run:
    bench: object
    argv: list
    started: str = ""
    seconds: float = 0.0
    load_before: str = ""
    load_after: str = ""
    failed: bool = False
    reason: str = ""
    skipped: str = ""  # why it did not run
    rows: list = field(default_factory=list)
    log: str = ""


def utc(when=None):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


def load():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def execute(argv, timeout, log_path):
    """Runs argv from the repository root in its own process group, its
    output to log_path; on timeout the whole group is stopped (TERM, then
    KILL). Returns (exit code or None on timeout, output)."""
    with open(log_path, "w") as log:
        process = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
            for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
                try:
                    os.killpg(process.pid, sig)
                    process.wait(timeout=grace)
                    break
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    continue
    return code, open(log_path, errors="replace").read()


def failure_reason(code, output, timeout):
    if code is None:
        return f"timed out after {timeout} s"
    said = [line.strip() for line in output.splitlines() if "FAILED" in line]
    last = [line.strip() for line in output.splitlines() if line.strip()]
    return f"exit code {code}: " + (said[-1] if said else last[-1] if last else "no output")[:300]


def judge(run, code, output, timeout):
    if code != 0:
        run.failed, run.reason = True, failure_reason(code, output, timeout)
    elif not run.rows:
        run.failed, run.reason = True, "it printed no result line"
    elif run.bench.kind == "sbs":
        # sbs.sh itself never fails on failed calls; here any failed
        # opendpma call fails the run, as it does in the bench scripts.
        ours = next((r for n, r in run.rows if r.get("server") == "opendpma"), None)
        if not ours or ours.get("ok", 0) == 0 or ours.get("failed", 1) > 0:
            run.failed = True
            run.reason = f"opendpma: {ours.get('ok') if ours else 0} ok, {ours.get('failed') if ours else '?'} failed"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--out")
    args = parser.parse_args()
    tiny = args.tiny or args.smoke
    out = args.out or os.path.join(ROOT, "target/bench-regen/BENCHMARKS-tiny.md" if tiny else "docs/BENCHMARKS.md")
    target_dir = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    logs = os.path.join(target_dir, "bench-regen", f"logs-{stamp}")
    os.makedirs(logs, exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    peers = find_peers(ROOT)
    listed = benches(ROOT, peers)
    only = set(filter(None, args.only.split(",")))
    unknown = only - {b.key for b in listed}
    if unknown:
        parser.error(f"no bench called {', '.join(sorted(unknown))}; known: {', '.join(b.key for b in listed)}")

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    began = time.time()
    header = dict(commit=commit, dirty=bool(dirty), began=utc(began), tiny=tiny, smoke=args.smoke,
                  load_before=load(), command="bench/regenerate.sh " + " ".join(sys.argv[1:]), peers=peers)

    # One build first, so that no bench's time limit pays for compiling.
    build = [["cargo", "build", "--release", "--quiet"], ["cargo", "bench", "--no-run", "--quiet"]]
    build_failed = ""
    for step, argv in enumerate(build, 1):
        print(f"regenerate: {' '.join(argv)}", flush=True)
        code, output = execute(argv, 1800, os.path.join(logs, f"build-{step}.log"))
        if code != 0:
            build_failed = failure_reason(code, output, 1800)
            break

    # The scripts then skip their own `cargo build` (see their BENCH_PREBUILT).
    os.environ["BENCH_PREBUILT"] = "1"
    runs = {}
    for bench in listed:
        run = Run(bench, bench.tiny if tiny else bench.argv)
        runs[bench.key] = run
        if only and bench.key not in only:
            run.skipped = "not selected (--only)"
        elif args.smoke and bench.kamailio and bench.kind == "sbs":
            run.skipped = "smoke run: no Kamailio"
        elif bench.peers and not peers:
            run.skipped = "../shared/peers not found"
            run.failed = not args.smoke  # a full run must have the anchor's harness
            run.reason = run.skipped
        elif build_failed:
            run.failed, run.reason = True, f"the build failed: {build_failed}"
        elif time.time() - began > BUDGET:
            run.failed, run.reason = True, f"not started: the run's {BUDGET // 60}-min budget was spent"
        if run.skipped or run.failed:
            if not only:
                print(f"regenerate: WARNING: {bench.key} not run: {run.skipped or run.reason}", file=sys.stderr)
            continue
        if args.smoke and bench.kamailio:
            run.argv = [a for a in run.argv if a != "kamailio"]
        timeout = TINY_TIMEOUT if tiny else bench.timeout
        run.log = os.path.join(logs, f"{bench.key}.log")
        run.started, run.load_before = utc(), load()
        print(f"regenerate: {bench.key}: {' '.join(run.argv)} (limit {timeout} s, load {run.load_before})",
              flush=True)
        t0 = time.time()
        code, output = execute(run.argv, timeout, run.log)
        run.seconds, run.load_after = time.time() - t0, load()
        run.rows = parse(bench.kind, output, target_dir, t0)
        judge(run, code, output, timeout)
        print(f"regenerate: {bench.key}: {'FAILED: ' + run.reason if run.failed else 'ok'} "
              f"({run.seconds:.0f} s)", flush=True)

    missing = uncovered(ROOT, listed)
    header.update(ended=utc(), seconds=time.time() - began, load_after=load(), missing=missing,
                  build_failed=build_failed, logs=os.path.relpath(logs, ROOT))
    with open(out, "w") as f:
        f.write(document(header, runs))
    failed = [k for k, r in runs.items() if r.failed]
    print(f"regenerate: wrote {os.path.relpath(out, ROOT)}; logs in {os.path.relpath(logs, ROOT)}")
    if failed or missing or build_failed:
        print(f"regenerate: FAILED: {', '.join(failed + missing) or build_failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
