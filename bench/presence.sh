#!/usr/bin/env bash
# Presence throughput on loopback with sipp (bounded by CALLS and sipp's
# -timeout): digest-authenticated SUBSCRIBE dialogs per second and
# PUBLISH requests per second (each a durable, fsync'd change), then the
# fan-out time from one change to N watchers (benches/fanout.rs).
# Exits non-zero when any call fails or any watcher misses the change.
# Usage: bench/presence.sh [CALLS] [RATE] [FANOUT_WATCHERS...]
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-5000}
RATE=${2:-2000}
# Fan-out sizes: the rest of the arguments (default 1000 10000).
FANOUT_SIZES=("${@:3}")
[ ${#FANOUT_SIZES[@]} -gt 0 ] || FANOUT_SIZES=(1000 10000)
command -v sipp >/dev/null || { echo "sipp is not installed (apt-get install sip-tester)"; exit 1; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
. bench/server_under_test.sh

[ -n "${BENCH_PREBUILT:-}" ] || cargo build --release --quiet  # bench/regenerate.py builds once
start_server() {
    HTTP=$(free_port); ADMIN=$(free_port); SIP=$(free_port)
    rm -rf "$work/data"
    presence_config "$work/phones.toml" "$CALLS" 'digest_algorithms = ["MD5"]'
    ./target/release/opendpma --log-level warn serve --config "$work/phones.toml" &
    SERVER=$!
    wait_healthy
}
stop_server() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; }

failures=0
measure() { # name scenario kind
    (cd "$work" && sipp -sf "$OLDPWD/bench/sipp/$2" -s 2001 "127.0.0.1:$SIP" -i 127.0.0.1 -p 0 \
        -m "$CALLS" -r "$RATE" -l 500 -timeout 120s -buff_size 8388608 -nostdin -trace_stat -fd 1 -trace_err >/dev/null 2>&1) || true
    # The last stats row: successful and failed calls, and the elapsed
    # time as hh:mm:ss:microseconds. A run with any failed call, or with
    # fewer successes than calls offered, fails the bench.
    awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } { last = $0 }
        END { split(last, f, ";"); split(f[col["ElapsedTime(C)"]], t, ":");
              seconds = t[1] * 3600 + t[2] * 60 + t[3] + t[4] / 1e6;
              ok = f[col["SuccessfulCall(C)"]]; failed = f[col["FailedCall(C)"]];
              achieved = (seconds > 0 ? ok / seconds : 0);
              printf "%-28s offered %6d at %5d/s: %7d ok %5d failed in %6.2f s, achieved %7.0f/s\n",
                     name, calls, rate, ok, failed, seconds, achieved;
              printf "RESULT presence kind=%s offered_calls=%d offered_rate=%d ok=%d failed=%d seconds=%.2f achieved_rate=%.0f\n",
                     kind, calls, rate, ok, failed, seconds, achieved;
              exit (failed > 0 || ok < calls) }' \
        name="$1" kind="$3" calls="$CALLS" rate="$RATE" "$work"/*_.csv || {
        echo "FAILED: $1; what sipp saw (kinds of error, most frequent first):"
        # The reason of each failed call, without its per-call details.
        grep -ho "[A-Z][a-z]*[^:]*: [^']*'[A-Z]*[^ ]* [0-9A-Za-z]*" "$work"/*_errors.log 2>/dev/null |
            sed 's/^.*[0-9]: //; s/Call-Id .[^ ]*/Call-Id …/' | sort | uniq -c | sort -rn | head -5
        [ -z "${PRESENCE_KEEP:-}" ] || cp "$work"/*_errors.log "$PRESENCE_KEEP"/ 2>/dev/null || true
        failures=$((failures + 1))
    }
    rm -f "$work"/*_.csv "$work"/*_errors.log
}

echo "machine: $(nproc) cores, $(uname -m), $(date -u +%F); $CALLS calls at up to $RATE/s"
start_server; measure "SUBSCRIBE (digest, dialog)" subscribe_load.xml subscribe; stop_server
start_server; measure "PUBLISH (digest, fsync)" publish_load.xml publish; stop_server
echo "fan-out (benches/fanout.rs): one change offered to N watchers; achieved = watchers reached"
cargo bench --quiet --bench fanout -- "${FANOUT_SIZES[@]}" | tee "$work/fanout.out" || failures=$((failures + 1))
# Its table rows (watchers, subscribed, received, median, last as Rust
# Durations such as 15.6ms or 1.2s) as RESULT lines, in milliseconds.
python3 - "$work/fanout.out" <<'PY'
import re, sys
unit = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}
def ms(text):
    number, suffix = re.fullmatch(r"([0-9.]+)(ns|µs|us|ms|s)", text).groups()
    return float(number) * unit[suffix]
for row in open(sys.argv[1]):
    f = row.split()
    if len(f) == 5 and f[0].isdigit():
        print(f"RESULT presence_fanout watchers={f[0]} subscribed={f[1]} received={f[2]} "
              f"median_ms={ms(f[3]):.1f} last_ms={ms(f[4]):.1f}")
PY
exit $((failures > 0))
