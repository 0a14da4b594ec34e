#!/usr/bin/env bash
# N live subscriptions: the server's RSS with them, then the time a
# restart takes to have them all back (goal: 100,000 in < 300 MB,
# restored in < 2 s). Loopback, bounded; auth off and limits lifted in the
# config below so that only the subscriptions are measured.
#   bench/subscriptions_restart.sh [N]
# Exits non-zero when fewer than N subscriptions come up or come back.
# Offered: N SUBSCRIBEs in bursts of 500 (each burst drained before the
# next); achieved: subscriptions/s. Ends with a `RESULT
# subscriptions_restart …` line for bench/regenerate.py.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
. bench/server_under_test.sh
[ -n "${BENCH_PREBUILT:-}" ] || cargo build --release --quiet  # bench/regenerate.py builds once
HTTP=$(free_port); ADMIN=$(free_port); SIP=$(free_port)
presence_config "$work/phones.toml" "$N" 'require_auth = false'
count() { curl -s -H "Authorization: Bearer bench" "http://127.0.0.1:$ADMIN/metrics" | awk '/^opendpma_sip_subscriptions /{print $2}'; }
start() {
    ./target/release/opendpma --log-level warn serve --config "$work/phones.toml" >> "$work/server.log" 2>&1 &
    SERVER=$!
}
echo "machine: $(nproc) cores, $(date -u '+%F %H:%M') UTC, load $(cut -d' ' -f1 /proc/loadavg); $N subscriptions"
start
wait_healthy
t0=$(date +%s.%N)
python3 bench/subscriptions_rss.py "$SERVER" "$SIP" "$N" --keep | tee "$work/rss.out" ||
    { echo "FAILED: not all $N subscribed"; exit 1; }
t1=$(date +%s.%N)
subscribe_seconds=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
achieved=$(python3 -c "print(f'{$N / ($t1 - $t0):.0f}')")
echo "subscribed $N in $subscribe_seconds s (offered in bursts of 500, achieved $achieved/s)"
rss_with=$(awk '/^RSS with/ {print $(NF - 1)}' "$work/rss.out")
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
t0=$(date +%s.%N)
start
back=0
for _ in $(seq 600); do  # up to 60 s
    back=$(count || true); [ "${back:-0}" -ge "$N" ] && break
    sleep 0.01
done
t1=$(date +%s.%N)
rss=$(awk '/VmRSS/{print $2}' "/proc/$SERVER/status")
restore_seconds=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
echo "restart: ${back:-0} of $N subscriptions back $restore_seconds s after the process started; RSS $rss KiB"
echo "RESULT subscriptions_restart subscriptions=$N subscribed=$N subscribe_seconds=$subscribe_seconds" \
    "achieved_rate=$achieved rss_with_kib=$rss_with restored=${back:-0} restore_seconds=$restore_seconds" \
    "rss_after_restore_kib=$rss"
[ "${back:-0}" -ge "$N" ] || { echo "FAILED: ${back:-0} of $N restored"; exit 1; }
