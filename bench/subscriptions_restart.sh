#!/usr/bin/env bash
# N live subscriptions: the server's RSS with them, then the time a
# restart takes to have them all back (goal: 100,000 in < 300 MB,
# restored in < 2 s). Loopback, bounded; auth off and limits lifted in the
# config below so that only the subscriptions are measured.
#   bench/subscriptions_restart.sh [N]
# Exits non-zero when fewer than N subscriptions come up or come back.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
. bench/server_under_test.sh
cargo build --release --quiet
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
python3 bench/subscriptions_rss.py "$SERVER" "$SIP" "$N" --keep || { echo "FAILED: not all $N subscribed"; exit 1; }
t1=$(date +%s.%N)
echo "subscribed $N in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s (achieved $(python3 -c "print(f'{$N / ($t1 - $t0):.0f}')")/s)"
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
echo "restart: ${back:-0} of $N subscriptions back $(python3 -c "print(f'{$t1 - $t0:.2f}')") s after the process started; RSS $rss KiB"
[ "${back:-0}" -ge "$N" ] || { echo "FAILED: ${back:-0} of $N restored"; exit 1; }
